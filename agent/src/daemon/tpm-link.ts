import {
  type CommandRunner,
  openTpm,
  ReadClock,
  type Tpm,
  TPM_RC,
  TpmProtocolError,
  TpmResponseError,
  TpmTransportError,
} from '@vigil/tpm2-ts';
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';

/** The TPM's reset and restart counters (TPMS_CLOCK_INFO, Part 2 §10.11.1). */
export interface TpmCounters {
  /** Increments on every TPM Reset: a reboot, or a simulator started afresh. PCRs are back to their initial values. */
  readonly resetCount: number;
  /** Increments on TPM Restart / Resume (hibernation); reset to 0 by a TPM Reset. */
  readonly restartCount: number;
}

/** Keys the agent keeps loaded in the TPM while it runs (the EK and the enrolled AK). */
export interface LoadedKeys {
  /** Flushes them; called when the link closes (not after a reset: they are gone then). */
  release(): Promise<void>;
}

/** The TPM cannot be reached (no device, simulator down, connection broken). */
export class TpmUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TpmUnavailableError';
  }
}

export interface CounterChange {
  readonly previous: TpmCounters;
  readonly current: TpmCounters;
  /**
   * `reset`: resetCount changed (reboot: PCRs are zero); `restart`: only
   * restartCount changed, a TPM Restart (PCRs reset) or Resume (PCRs
   * restored), which the counters cannot tell apart (the PCRs can).
   */
  readonly kind: 'reset' | 'restart';
}

export interface TpmLinkOptions<K extends LoadedKeys> {
  readonly uri: string;
  readonly log: Logger;
  /** Loads the keys after the TPM was opened or reset. Its errors (e.g. the TPM was cleared) pass to the caller of `use`. */
  readonly loadKeys: (tpm: Tpm) => Promise<K>;
  /** How often the counters are read while nothing else uses the TPM. */
  readonly pollMs: number;
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs: number;
  /** The counters as last seen (e.g. by a previous run), to notice a reset that happened while the agent was down. */
  readonly knownCounters?: TpmCounters;
  /** A reset or restart was noticed. Not awaited: it may call `use` itself. */
  readonly onCounterChange?: (change: CounterChange) => void;
  /** Reachability changed (after the first check). */
  readonly onReachability?: (reachable: boolean, error: Error | undefined) => void;
}

/**
 * The daemon's link to its TPM: one connection, the keys loaded once and
 * reloaded only when needed, and every use serialized (a quote never
 * interleaves with a model PCR extension). Before each use the TPM's reset
 * and restart counters are read (TPM2_ReadClock: one cheap command), so a
 * reboot or simulator restart is noticed before evidence is built; a poll
 * does the same while idle. A broken connection marks the TPM unreachable
 * and is re-opened, with backoff, by the poll; keys are reloaded after a
 * reset (transient objects do not survive one) or a reconnect (the kernel
 * resource manager flushes a closed connection's objects).
 */
export class TpmLink<K extends LoadedKeys> {
  readonly #o: TpmLinkOptions<K>;
  readonly #backoff: Backoff;
  #tpm: Tpm | undefined;
  #keys: K | undefined;
  #counters: TpmCounters | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #reachable: boolean | undefined;
  #lastError: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: TpmLinkOptions<K>) {
    this.#o = options;
    this.#counters = options.knownCounters;
    this.#backoff = new Backoff({ initialMs: options.initialRetryDelayMs ?? 1000, maxMs: Math.max(options.maxRetryDelayMs, options.initialRetryDelayMs ?? 1000) });
  }

  /**
   * A command runner that always reaches the connection open now (the link
   * re-opens it after a break), for objects that keep a runner, such as the
   * model measurement log. Use it only inside `use`, which serializes access.
   */
  readonly runner: CommandRunner = {
    execute: (cmd, input, sessions) => {
      if (this.#tpm === undefined) return Promise.reject(new TpmUnavailableError(`TPM ${this.#o.uri} is not open`));
      return this.#tpm.execute(cmd, input, sessions);
    },
  };

  get reachable(): boolean {
    return this.#reachable === true;
  }
  get counters(): TpmCounters | undefined {
    return this.#counters;
  }
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Starts polling (first check now). */
  start(): void {
    this.#schedule(0);
  }

  /**
   * Runs `fn` with the TPM and the loaded keys, alone. @throws
   * TpmUnavailableError when the TPM cannot be reached; errors of `fn` and
   * `loadKeys` otherwise.
   */
  use<T>(fn: (ctx: { readonly tpm: Tpm; readonly keys: K; readonly counters: TpmCounters }) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => this.#run(fn));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops polling, flushes the keys and closes the connection (after the use in progress). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#queue;
    await this.#keys?.release().catch(() => undefined);
    this.#keys = undefined;
    await this.#tpm?.close().catch(() => undefined);
    this.#tpm = undefined;
  }

  async #run<T>(fn: (ctx: { readonly tpm: Tpm; readonly keys: K; readonly counters: TpmCounters }) => Promise<T>): Promise<T> {
    if (this.#stopped) throw new TpmUnavailableError('the agent is stopping');
    try {
      const { tpm, counters } = await this.#connect();
      this.#keys ??= await this.#o.loadKeys(tpm);
      this.#setReachable(true, undefined);
      try {
        return await fn({ tpm, keys: this.#keys, counters });
      } catch (err) {
        // Our handles went stale without a counter change (another process flushed them): reload next time.
        if (err instanceof TpmResponseError && (err.is(TPM_RC.HANDLE) || err.is(TPM_RC.REFERENCE_H0))) this.#keys = undefined;
        throw err;
      }
    } catch (err) {
      if (isUnreachable(err)) {
        await this.#drop();
        const e = new TpmUnavailableError(`TPM ${this.#o.uri} unreachable: ${(err as Error).message}`, { cause: err });
        this.#setReachable(false, e);
        throw e;
      }
      throw err;
    }
  }

  /**
   * The open connection and the current counters. A connection that broke
   * since its last use (the simulator restarted, the device was reset) is
   * re-opened once at once: nothing was sent on it yet, so nothing is repeated.
   */
  async #connect(): Promise<{ tpm: Tpm; counters: TpmCounters }> {
    const reused = this.#tpm !== undefined;
    try {
      const tpm = (this.#tpm ??= await openTpm(this.#o.uri));
      return { tpm, counters: await this.#readCounters(tpm) };
    } catch (err) {
      if (!reused || !isUnreachable(err)) throw err;
      await this.#drop();
      const tpm = (this.#tpm = await openTpm(this.#o.uri));
      return { tpm, counters: await this.#readCounters(tpm) };
    }
  }

  async #readCounters(tpm: Tpm): Promise<TpmCounters> {
    const { currentTime } = await tpm.execute(ReadClock, {});
    const current = { resetCount: Number(currentTime.clockInfo.resetCount), restartCount: Number(currentTime.clockInfo.restartCount) };
    const previous = this.#counters;
    this.#counters = current;
    if (previous !== undefined && (previous.resetCount !== current.resetCount || previous.restartCount !== current.restartCount)) {
      // Transient objects do not survive a reset or restart (Part 1 §36): the handles are gone, nothing to flush.
      this.#keys = undefined;
      const kind = previous.resetCount !== current.resetCount ? 'reset' : 'restart';
      this.#o.log.warn({ previous, current, kind }, kind === 'reset' ? 'TPM reset detected (reboot or simulator restart): PCRs start over' : 'TPM restart detected');
      this.#o.onCounterChange?.({ previous, current, kind });
    }
    return current;
  }

  async #drop(): Promise<void> {
    this.#keys = undefined;
    const tpm = this.#tpm;
    this.#tpm = undefined;
    await tpm?.close().catch(() => undefined);
  }

  #setReachable(reachable: boolean, error: Error | undefined): void {
    this.#lastError = error;
    if (this.#reachable === reachable) return;
    const first = this.#reachable === undefined;
    this.#reachable = reachable;
    if (reachable) {
      this.#backoff.reset();
      if (!first) this.#o.log.info({ uri: this.#o.uri }, 'TPM reachable again');
    } else {
      this.#o.log.error({ uri: this.#o.uri, err: error?.message }, 'TPM unreachable; retrying with backoff');
    }
    this.#o.onReachability?.(reachable, error);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.use(async () => undefined).then(
        () => this.#schedule(this.#o.pollMs),
        (err: unknown) => {
          if (!(err instanceof TpmUnavailableError)) this.#o.log.error({ err }, 'TPM check failed');
          this.#schedule(err instanceof TpmUnavailableError ? this.#backoff.next() : this.#o.pollMs);
        },
      );
    }, delayMs);
  }
}

/** Errors that mean "no TPM on the other end" rather than "the TPM said no". */
function isUnreachable(err: unknown): boolean {
  if (err instanceof TpmTransportError || err instanceof TpmProtocolError) return true;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EACCES', 'ENODEV', 'EBUSY', 'ENXIO'].includes(code);
}
