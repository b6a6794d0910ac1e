import { open } from 'node:fs/promises';
import { join } from 'node:path';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { FileFingerprint } from '../watch/index.js';
import { writeFileAtomic } from './atomic-write.js';

/**
 * `STATE/measured-files.json`: the fingerprint of every model file as it
 * was when its measurement went into the model log, for the TPM boot
 * (resetCount) and model PCR of that log. A restarted agent whose TPM was
 * not reset takes a file whose fingerprint is unchanged *and* whose latest
 * digest in the model log is the one recorded here as measured, without
 * reading it again: restarts cost a stat per file, not a hash of every model.
 */
const Decimal = Type.String({ pattern: '^[0-9]{1,30}$' });
export const MeasuredFiles = Type.Object(
  {
    v: Type.Literal(1),
    resetCount: Type.Integer({ minimum: 0 }),
    pcr: Type.Integer({ minimum: 0, maximum: 23 }),
    files: Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 1, maxLength: 4096 }),
          digest: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          dev: Decimal,
          ino: Decimal,
          size: Decimal,
          mtimeNs: Decimal,
          ctimeNs: Decimal,
        },
        { additionalProperties: false },
      ),
      { maxItems: 100_000 },
    ),
  },
  { additionalProperties: false },
);
export type MeasuredFiles = Static<typeof MeasuredFiles>;

export const MEASURED_FILES_FILE = 'measured-files.json';
/** 100,000 entries of a few hundred bytes. */
const MAX_BYTES = 64 * 1024 * 1024;
const validator = Compile(MeasuredFiles);

/** What the model log holds now: its TPM boot, its PCR and each file's latest digest. */
export interface LoggedMeasurements {
  readonly resetCount: number;
  readonly pcr: number;
  readonly latest: ReadonlyMap<string, string>;
}

/** The record, or undefined when there is none or it is not one (the files are then simply measured again). */
export async function readMeasuredFiles(stateDir: string): Promise<MeasuredFiles | undefined> {
  let handle;
  try {
    handle = await open(join(stateDir, MEASURED_FILES_FILE), 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_BYTES) return undefined;
    const value: unknown = JSON.parse(await handle.readFile('utf8'));
    return validator.Check(value) ? value : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

export async function writeMeasuredFiles(stateDir: string, record: MeasuredFiles): Promise<void> {
  await writeFileAtomic(join(stateDir, MEASURED_FILES_FILE), JSON.stringify(record) + '\n', 0o600);
}

/** The record of what is measured now: every watched file whose latest logged digest is known. */
export function measuredFilesRecord(logged: LoggedMeasurements, measured: ReadonlyMap<string, FileFingerprint>): MeasuredFiles {
  const files: MeasuredFiles['files'] = [];
  for (const [path, fp] of measured) {
    const digest = logged.latest.get(path);
    if (digest === undefined) continue;
    files.push({ path, digest, dev: String(fp.dev), ino: String(fp.ino), size: String(fp.size), mtimeNs: String(fp.mtimeNs), ctimeNs: String(fp.ctimeNs) });
  }
  return { v: 1, resetCount: logged.resetCount, pcr: logged.pcr, files };
}

/**
 * The fingerprints a restarted agent may trust as measured: only from a
 * record of the same TPM boot and model PCR as the log, and only for files
 * whose latest logged digest is the recorded one.
 */
export function trustedFingerprints(record: MeasuredFiles | undefined, logged: LoggedMeasurements, tpmResetCount: number): Map<string, FileFingerprint> {
  const out = new Map<string, FileFingerprint>();
  if (record === undefined || record.resetCount !== tpmResetCount || logged.resetCount !== tpmResetCount || record.pcr !== logged.pcr) return out;
  for (const f of record.files) {
    if (logged.latest.get(f.path) !== f.digest) continue;
    out.set(f.path, { dev: BigInt(f.dev), ino: BigInt(f.ino), size: BigInt(f.size), mtimeNs: BigInt(f.mtimeNs), ctimeNs: BigInt(f.ctimeNs) });
  }
  return out;
}
