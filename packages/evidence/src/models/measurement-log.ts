/**
 * The model measurement log: one entry per model file, in the kernel's IMA
 * `ima-ng` form, so existing IMA tooling can read it:
 *
 *   13 <SHA-1 template hash> ima-ng sha256:<file digest> <absolute path>
 *
 * The template data is d-ng (`sha256:` NUL digest) | n-ng (path NUL), each
 * with its UINT32 length, exactly as IMA builds it; as in the kernel, spaces
 * in the path are stored as '_' (ima_write_template_field_data) so the ASCII
 * line stays splittable. The agent extends every entry into the model PCR:
 * SHA-1(template data) into the SHA-1 bank, SHA-256(template data) into the
 * SHA-256 bank, the way IMA extends PCR 10; the verifier replays the log to
 * the same values and compares them with the quote.
 *
 * Default model PCR: 13. PCRs 0-15 cannot be reset by software (only a
 * platform reset clears them), and 13 is the one no boot component claims:
 * 0-7 firmware, 8-9 boot loader, 10 IMA, 11 systemd-stub / UKI sections,
 * 12 kernel command line and credentials, 14 shim's MOK lists, 15 systemd's
 * machine-id and volume keys. 13 is only used by systemd-stub for system
 * extension images, which edge devices running models normally do not load;
 * a deployment that does can pick another PCR. 16 and 23 are resettable by
 * software (debug, application) and 17-22 belong to DRTM, so none of them may
 * hold a measurement a verifier relies on.
 */
import { createHash } from 'node:crypto';
import { bytesEqual, fromHex, toHex } from '../binary/bytes.js';
import type { PcrValuesJson } from '../crypto/pcr-banks.js';
import { formatImaAsciiLine } from '../ima/ascii.js';
import { ImaParseError } from '../ima/errors.js';
import type { ByteSource } from '../sources/byte-source.js';
import { readImaLog } from '../ima/read.js';
import { ImaReplayer, imaPcrsToJson } from '../ima/replay.js';
import { digestNgField, joinFields, nameNgField } from '../ima/template-data.js';
import type { ModelDigest } from './hash-model.js';

export const DEFAULT_MODEL_PCR = 13;

/** PCRs a model measurement must never go to: resettable by software (16, 23) or DRTM (17-22). */
export function isAcceptableModelPcr(pcr: number): boolean {
  return Number.isInteger(pcr) && pcr >= 0 && pcr <= 15;
}

export interface ModelMeasurement {
  readonly pcr: number;
  readonly path: string;
  /** SHA-256 of the file, lowercase hex. */
  readonly digest: string;
  readonly templateName: 'ima-ng';
  readonly templateData: Uint8Array;
  /** SHA-1 of the template data: the log's template hash column. */
  readonly templateHash: Uint8Array;
  /** What to extend into the model PCR, per bank. */
  readonly extend: { readonly sha1: Uint8Array; readonly sha256: Uint8Array };
  /** The ASCII log line (no newline). */
  readonly line: string;
}

/** One measurement for the file at `path` (absolute) with SHA-256 `digest` (hex). */
export function modelMeasurement(path: string, digest: string, pcr = DEFAULT_MODEL_PCR): ModelMeasurement {
  if (!isAcceptableModelPcr(pcr)) throw new RangeError(`PCR ${pcr} can be reset by software or is reserved for DRTM; use 0-15 (default 13)`);
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new RangeError('digest must be 64 lowercase hex characters');
  if (/[\n\r]/.test(path)) throw new RangeError('a path in the measurement log cannot contain a newline');
  const templateData = joinFields([digestNgField('sha256', fromHex(digest)), nameNgField(Buffer.from(path.replaceAll(' ', '_'), 'utf8'))]);
  const sha1 = new Uint8Array(createHash('sha1').update(templateData).digest());
  const sha256 = new Uint8Array(createHash('sha256').update(templateData).digest());
  const line = Buffer.from(formatImaAsciiLine({ pcr, templateHash: sha1, templateName: 'ima-ng', templateData })).toString('utf8');
  return { pcr, path, digest, templateName: 'ima-ng', templateData, templateHash: sha1, extend: { sha1, sha256 }, line };
}

/** One measurement per file of a hashed model, by absolute path, in manifest order. */
export function modelMeasurements(model: ModelDigest, pcr = DEFAULT_MODEL_PCR): ModelMeasurement[] {
  return model.files.map((f) => modelMeasurement(f.absolutePath, f.digest, pcr));
}

/** The ASCII log: one line per measurement, each ending in a newline. */
export function formatModelLog(measurements: Iterable<Pick<ModelMeasurement, 'line'>>): string {
  let out = '';
  for (const m of measurements) out += `${m.line}\n`;
  return out;
}

export interface ModelLogReplay {
  /** The model PCR's value per bank after replay (only PCRs the log extends appear). */
  readonly pcrs: PcrValuesJson;
  /** The measured files, in log order; `verified` is false when the entry's data does not match its template hash. */
  readonly entries: readonly { readonly pcr: number; readonly path: string; readonly digest: string; readonly verified: boolean }[];
}

/**
 * Replays a model measurement log (ASCII) into SHA-1 and SHA-256 PCR values
 * and lists its measurements. An entry that is not `ima-ng` with a SHA-256
 * file digest raises ImaParseError: the log is ours, nothing else belongs in it.
 */
export async function replayModelLog(source: ByteSource): Promise<ModelLogReplay> {
  const replayer = new ImaReplayer({ banks: ['sha1', 'sha256'] });
  const entries: { pcr: number; path: string; digest: string; verified: boolean }[] = [];
  for await (const e of readImaLog(source, { format: 'ascii' })) {
    if (e.template.kind !== 'ima-ng' || e.template.algorithm !== 'sha256' || e.template.digest.length !== 32) {
      throw new ImaParseError(e.offset, e.index, 'not an ima-ng measurement with a sha256 file digest');
    }
    replayer.add(e);
    const verified = e.templateData !== null && bytesEqual(createHash('sha1').update(e.templateData).digest(), e.templateHash);
    entries.push({ pcr: e.pcr, path: e.template.path, digest: toHex(e.template.digest), verified });
  }
  return { pcrs: imaPcrsToJson(replayer.result()), entries };
}
