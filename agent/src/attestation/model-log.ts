import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_PCR, hashModel, isAcceptableModelPcr, modelMeasurement, type HashModelOptions, type ModelMeasurement } from '@vigil/evidence';
import { getPcrBanks, PCR_Extend, ReadClock, readPcrs, TPM_ALG, type CommandRunner } from '@vigil/tpm2-ts';
import { EvidenceError } from './errors.js';

/** The model log in the agent's state directory. */
export const MODEL_LOG_FILE = 'model-log.json';

interface ModelLogFile {
  readonly v: 1;
  readonly pcr: number;
  /** The TPM boot (resetCount) the entries were extended in. */
  readonly resetCount: number;
  /** The TPM's restartCount when the log was last checked against it (absent in logs of earlier agents). */
  readonly restartCount?: number;
  /** Set when a TPM Restart cleared the model PCR and the log started over in this boot: the restartCount then. */
  readonly restartedAt?: number;
  readonly entries: ReadonlyArray<{ readonly path: string; readonly digest: string }>;
}

/** What the TPM's counters say happened to the model PCR since the log last looked (TPMS_CLOCK_INFO, Part 2 §10.11.1). */
export type TpmFollowed = 'reset' | 'restart' | undefined;

export interface ModelLogOptions {
  /** The model PCR (0-15, default 13: see @vigil/evidence). */
  readonly pcr?: number;
  /** Options for hashing (worker threads, read size). */
  readonly hashing?: HashModelOptions;
}

/** The banks the model log is replayed in; each is extended when the TPM has it. */
const LOG_BANKS = [
  { alg: TPM_ALG.SHA1, name: 'sha1' as const },
  { alg: TPM_ALG.SHA256, name: 'sha256' as const },
];

/**
 * The agent's model measurement log: one `ima-ng` entry per model file
 * measurement, each extended into the model PCR (SHA-1 of the template data
 * into the SHA-1 bank, SHA-256 into the SHA-256 bank, as the verifier
 * replays it).
 *
 * Kept in the state directory (`model-log.json`, 0600) and bound to the
 * TPM's resetCount: the model PCR is zero again after a TPM Reset (a
 * reboot, a swtpm restart), so a log from another boot is discarded and the
 * files are measured again. A change of restartCount alone is a TPM Restart
 * (Shutdown(STATE) then Startup(CLEAR): PCRs back to their reset values) or
 * a TPM Resume (Startup(STATE): PCRs restored), which the counters cannot
 * tell apart (Part 1 §12.2.3, TPM2_Startup); the model PCR can: if it no
 * longer replays from the log, the log starts over in this boot as after a
 * reset (`restartedAt`), and until the next reset its evidence chunks start
 * at entry 0, since the verifier's offsets may count entries of the log
 * before. Each entry is written to the file before it is
 * extended, so a crash in between leaves the log one entry ahead of the
 * PCR, which `open` repairs by extending that entry; a PCR that matches
 * neither the log nor the log without its last entry holds something the
 * log does not show (`model-pcr-mismatch`), and attestation will say so.
 * Operations are serialised: measuring and building evidence never interleave.
 */
export class ModelMeasurementLog {
  #entries: Array<{ path: string; digest: string }>;
  #resetCount: number;
  #restartCount: number;
  #restartedAt: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly tpm: CommandRunner,
    private readonly file: string,
    readonly pcr: number,
    private readonly banks: ReadonlyArray<(typeof LOG_BANKS)[number]>,
    counters: TpmCounters,
    restartedAt: number | undefined,
    entries: Array<{ path: string; digest: string }>,
    private readonly hashing: HashModelOptions,
  ) {
    this.#resetCount = counters.resetCount;
    this.#restartCount = counters.restartCount;
    this.#restartedAt = restartedAt;
    this.#entries = entries;
  }

  /** Opens (or starts) the log in `stateDir` for the TPM's current boot. */
  static async open(tpm: CommandRunner, stateDir: string, options: ModelLogOptions = {}): Promise<ModelMeasurementLog> {
    const pcr = options.pcr ?? DEFAULT_MODEL_PCR;
    if (!isAcceptableModelPcr(pcr)) throw new RangeError(`model PCR ${pcr}: use 0-15 (16 and 23 are resettable, 17-22 belong to DRTM)`);
    const allocated = new Set((await getPcrBanks(tpm)).filter((b) => b.pcrs.includes(pcr)).map((b) => b.hashAlg));
    const banks = LOG_BANKS.filter((b) => allocated.has(b.alg));
    if (banks.length === 0) throw new EvidenceError('bad-challenge', `the TPM has neither a SHA-1 nor a SHA-256 bank for PCR ${pcr}`);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const file = join(stateDir, MODEL_LOG_FILE);
    const counters = await currentCounters(tpm);
    const stored = await readLogFile(file);
    const sameBoot = stored !== undefined && stored.resetCount === counters.resetCount && stored.pcr === pcr;
    const entries = sameBoot ? [...stored.entries] : [];
    const log = new ModelMeasurementLog(tpm, file, pcr, banks, counters, sameBoot ? stored.restartedAt : undefined, entries, options.hashing ?? {});
    // A TPM Restart or Resume while the agent was not running (a log of earlier agents names no restartCount: no restart is assumed).
    const restarted = sameBoot && stored.restartCount !== undefined && stored.restartCount !== counters.restartCount;
    if (restarted) await log.#startOverIfCleared();
    if (!sameBoot || restarted || stored.restartCount === undefined) await log.#save();
    await log.#reconcile();
    return log;
  }

  /** Entries of this boot. */
  get length(): number {
    return this.#entries.length;
  }

  /** The TPM resetCount this log belongs to. */
  get resetCount(): number {
    return this.#resetCount;
  }

  /**
   * The TPM restartCount at which a TPM Restart cleared the model PCR and
   * this log started over, or undefined if it runs from the boot's start.
   * While set, evidence sends the log from entry 0.
   */
  get restartedAt(): number | undefined {
    return this.#restartedAt;
  }

  /** The measurements of this boot, in log order. */
  measurements(): ModelMeasurement[] {
    return this.#entries.map((e) => modelMeasurement(e.path, e.digest, this.pcr));
  }

  /** Entries from `offset` on as ASCII `ima-ng` lines (the evidence's model log chunk), and how many. */
  linesFrom(offset: number): { text: string; count: number } {
    const slice = this.#entries.slice(offset);
    return { text: slice.map((e) => `${modelMeasurement(e.path, e.digest, this.pcr).line}\n`).join(''), count: slice.length };
  }

  /**
   * Hashes the model files at `paths` (files or folders) and measures every
   * file whose digest differs from its last measurement in this boot:
   * appended to the log, then extended into the model PCR. A TPM reset (or
   * a Restart that cleared the model PCR) since the last call restarts the
   * log first (every file is then measured again). Returns the new measurements.
   */
  measureModels(paths: readonly string[]): Promise<ModelMeasurement[]> {
    return this.#serialised(async () => {
      await this.#followTpm();
      const added: ModelMeasurement[] = [];
      for (const path of paths) {
        const model = await hashModel(path, this.hashing);
        for (const f of model.files) {
          if (this.#latestDigest(f.absolutePath) === f.digest) continue;
          const m = modelMeasurement(f.absolutePath, f.digest, this.pcr);
          this.#entries.push({ path: f.absolutePath, digest: f.digest });
          await this.#save();
          await this.#extend(m);
          added.push(m);
        }
      }
      return added;
    });
  }

  /** Runs `fn` with no measurement in progress (the evidence builder reads the log this way). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#serialised(fn);
  }

  /**
   * Follows the TPM's counters: after a TPM Reset the log starts over for the
   * new boot (`reset`); after a Restart or Resume it starts over if the model
   * PCR no longer replays from it (`restart`: a Restart cleared it), and is
   * kept otherwise (a Resume restored it: undefined).
   */
  followTpm(): Promise<TpmFollowed> {
    return this.#serialised(() => this.#followTpm());
  }

  #latestDigest(path: string): string | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) if (this.#entries[i]!.path === path) return this.#entries[i]!.digest;
    return undefined;
  }

  async #followTpm(): Promise<TpmFollowed> {
    const counters = await currentCounters(this.tpm);
    if (counters.resetCount !== this.#resetCount) {
      this.#resetCount = counters.resetCount;
      this.#restartCount = counters.restartCount;
      this.#restartedAt = undefined;
      this.#entries = [];
      await this.#save();
      return 'reset';
    }
    if (counters.restartCount === this.#restartCount) return undefined;
    this.#restartCount = counters.restartCount;
    const startedOver = await this.#startOverIfCleared();
    await this.#save();
    return startedOver ? 'restart' : undefined;
  }

  /**
   * After a restartCount change: a Resume restored the model PCR (the log
   * still replays to it, or to all but its last entry, which `#reconcile`
   * repairs), a Restart reset it. Then the log starts over, as after a
   * reset; a PCR at its reset value always means that (an empty log is what
   * it holds, whatever happened). A PCR that matches nothing is left for
   * `#reconcile` to report on open; evidence shows the verifier what it holds.
   */
  async #startOverIfCleared(): Promise<boolean> {
    const { actual, replay } = await this.#pcrAndReplay();
    const cleared = actual.equals(replay[0]!);
    if (!cleared && (actual.equals(replay.at(-1)!) || (replay.length >= 2 && actual.equals(replay.at(-2)!)))) return false;
    if (this.#entries.length === 0) return false;
    this.#entries = [];
    this.#restartedAt = this.#restartCount;
    return true;
  }

  async #pcrAndReplay(): Promise<{ actual: Buffer; replay: Buffer[]; bank: (typeof LOG_BANKS)[number] }> {
    const bank = this.banks.find((b) => b.name === 'sha256') ?? this.banks[0]!;
    const { values } = await readPcrs(this.tpm, [{ hashAlg: bank.alg, pcrs: [this.pcr] }]);
    return { actual: Buffer.from(values.get(bank.alg)!.get(this.pcr)!), replay: replayValues(this.measurements(), bank.name), bank };
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #extend(m: ModelMeasurement): Promise<void> {
    await this.tpm.execute(PCR_Extend, { pcrHandle: this.pcr, digests: this.banks.map((b) => ({ hashAlg: b.alg, digest: m.extend[b.name] })) });
  }

  /** Makes the PCR agree with the log after a crash between append and extend, or reports that it cannot. */
  async #reconcile(): Promise<void> {
    const { actual, replay, bank } = await this.#pcrAndReplay();
    if (actual.equals(replay.at(-1)!)) return;
    if (replay.length >= 2 && actual.equals(replay.at(-2)!)) {
      await this.#extend(this.measurements().at(-1)!);
      return;
    }
    throw new EvidenceError(
      'model-pcr-mismatch',
      `PCR ${this.pcr} (${bank.name}) holds ${actual.toString('hex')}, which the ${this.#entries.length} entries of the model log do not replay to: something else extends the model PCR`,
    );
  }

  async #save(): Promise<void> {
    const body: ModelLogFile = {
      v: 1,
      pcr: this.pcr,
      resetCount: this.#resetCount,
      restartCount: this.#restartCount,
      ...(this.#restartedAt !== undefined ? { restartedAt: this.#restartedAt } : {}),
      entries: this.#entries,
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(body) + '\n', { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }
}

/** The PCR value after 0, 1, ..., n measurements, in one bank. */
function replayValues(measurements: readonly ModelMeasurement[], bank: 'sha1' | 'sha256'): Buffer[] {
  let value = Buffer.alloc(bank === 'sha1' ? 20 : 32);
  const out = [value];
  for (const m of measurements) {
    value = createHash(bank).update(value).update(m.extend[bank]).digest();
    out.push(value);
  }
  return out;
}

interface TpmCounters {
  readonly resetCount: number;
  readonly restartCount: number;
}

async function currentCounters(tpm: CommandRunner): Promise<TpmCounters> {
  const { clockInfo } = (await tpm.execute(ReadClock, {})).currentTime;
  return { resetCount: clockInfo.resetCount, restartCount: clockInfo.restartCount };
}

async function readLogFile(file: string): Promise<ModelLogFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EvidenceError('model-log-malformed', `${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const v = JSON.parse(text) as ModelLogFile;
    const ok =
      v.v === 1 &&
      Number.isInteger(v.pcr) &&
      Number.isInteger(v.resetCount) &&
      (v.restartCount === undefined || Number.isInteger(v.restartCount)) &&
      (v.restartedAt === undefined || Number.isInteger(v.restartedAt)) &&
      Array.isArray(v.entries) &&
      v.entries.every((e) => typeof e?.path === 'string' && typeof e.digest === 'string' && /^[0-9a-f]{64}$/.test(e.digest));
    if (!ok) throw new Error('not a model log');
    return v;
  } catch (err) {
    throw new EvidenceError('model-log-malformed', `${file}: ${(err as Error).message}`, { cause: err });
  }
}
