import { EnrollmentError } from './errors.js';

/**
 * The one bound on an enrollment attempt. Every wait in it — the TPM, the
 * TLS handshake and CONNACK, the SUBACK, each PUBACK, the server's challenge
 * and result — is raced against the same deadline (and the caller's
 * AbortSignal, e.g. the daemon stopping), so a registrar that is absent,
 * stalled or silent, or a TPM that never answers, ends the attempt with a
 * typed `timeout` (or `cancelled`) failure that names what it was waiting
 * for, instead of keeping `vigil-agent enroll`/`run` waiting for ever.
 */
export class EnrollmentDeadline {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort = () => this.#controller.abort('cancelled');

  constructor(
    /** The whole attempt's allowance, for messages. */
    readonly timeoutMs: number,
    caller?: AbortSignal,
  ) {
    this.at = Date.now() + timeoutMs;
    this.#timer = setTimeout(() => this.#controller.abort('timeout'), timeoutMs);
    this.#caller = caller;
    if (caller?.aborted) this.#controller.abort('cancelled');
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  /** When the attempt must end (ms since the epoch). */
  readonly at: number;

  /** Aborted at the deadline or when the caller cancels. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the deadline passed or the caller cancelled: cleanup must not wait on the TPM or the broker either. */
  get over(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Milliseconds left (at least 1). */
  remainingMs(): number {
    return Math.max(1, this.at - Date.now());
  }

  /**
   * `work`'s outcome, or the deadline's failure as soon as it passes while
   * waiting for `what` ("the challenge from the server"). A later outcome of
   * `work` is dropped (it must not surface as an unhandled rejection).
   */
  async race<T>(work: Promise<T>, what: string): Promise<T> {
    work.catch(() => undefined);
    this.#throwIfOver(what);
    const signal = this.#controller.signal;
    let onAbort: (() => void) | undefined;
    const over = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        try {
          this.#throwIfOver(what);
        } catch (err) {
          reject(err);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([work, over]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  /**
   * Cleanup after the attempt (flushing the TPM's transient objects): awaited
   * in full while there is time; past the deadline for at most `graceMs`, so
   * a TPM that hangs cannot hang the cleanup, while a TPM that is merely
   * slow still gets its objects flushed (a TPM without a resource manager
   * has room for only a few).
   */
  async settle(work: Promise<unknown>, graceMs = 5000): Promise<void> {
    const quiet = work.then(
      () => undefined,
      () => undefined,
    );
    if (!this.over) return quiet;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([quiet, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  /** Stops the timer; call when the attempt ended either way. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }

  #throwIfOver(what: string): void {
    const signal = this.#controller.signal;
    if (!signal.aborted) return;
    if (signal.reason === 'cancelled') throw new EnrollmentError('cancelled', `enrollment cancelled while waiting for ${what}`);
    throw new EnrollmentError('timeout', `timed out waiting for ${what} (enrollment timeout ${Math.round(this.timeoutMs / 100) / 10} s)`);
  }
}
