import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';

export interface AttestationRetentionOptions {
  /** How long attestations are kept after they were received; 0 keeps them for ever. */
  readonly keepMs: number;
  /** Time between prunes (default an hour). */
  readonly everyMs?: number;
  /** Time from `start` to the first prune (default a minute), so a server restarted often still prunes. */
  readonly firstAfterMs?: number;
}

const HOUR_MS = 3_600_000;

/**
 * Keeps the attestation history bounded: every hour, the attestations
 * received longer ago than `keepMs` are deleted (`Store.pruneAttestations`:
 * in slices, each device's latest kept). A fleet of 10,000 devices on a
 * 60 s schedule records 14.4 million verdicts a day, about 15 GB in
 * SQLite; without a bound the disk fills, and then the store refuses every
 * verdict. What stays: the devices and their standing, every revocation,
 * and the audit log, which records each change of standing.
 */
export class AttestationRetention {
  #first: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pruning: Promise<number> | undefined;

  constructor(
    private readonly deps: { readonly store: Store; readonly log: Logger; readonly now?: () => number },
    private readonly options: AttestationRetentionOptions,
  ) {
    if (!Number.isFinite(options.keepMs) || options.keepMs < 0) throw new RangeError(`attestation retention of ${options.keepMs} ms`);
  }

  start(): void {
    if (this.options.keepMs === 0) return;
    this.#first = setTimeout(() => void this.prune(), this.options.firstAfterMs ?? 60_000);
    this.#first.unref();
    this.#timer = setInterval(() => void this.prune(), this.options.everyMs ?? HOUR_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.#first);
    clearInterval(this.#timer);
    await this.#pruning;
  }

  /** One prune (also run by the timer); a call while one runs gets that one. Never rejects: a failure is logged and the next hour tries again. */
  prune(): Promise<number> {
    if (this.options.keepMs === 0) return Promise.resolve(0);
    this.#pruning ??= this.#prune().finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  async #prune(): Promise<number> {
    const before = (this.deps.now ?? Date.now)() - this.options.keepMs;
    const started = performance.now();
    try {
      const deleted = await this.deps.store.pruneAttestations(before);
      if (deleted > 0) this.deps.log.info({ deleted, receivedBefore: new Date(before).toISOString(), ms: Math.round(performance.now() - started) }, 'pruned attestation history');
      return deleted;
    } catch (err) {
      this.deps.log.error({ err }, 'pruning attestation history failed');
      return 0;
    }
  }
}
