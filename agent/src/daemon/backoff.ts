export interface BackoffOptions {
  /** Ceiling of the first delay. */
  readonly initialMs: number;
  /** Ceiling no delay exceeds. */
  readonly maxMs: number;
  /** Random source in [0, 1) (tests pass a fixed one). */
  readonly random?: () => number;
}

/**
 * Jittered exponential backoff ("equal jitter"): the n-th delay is drawn
 * uniformly from [c/2, c] where c = min(maxMs, initialMs * 2^n). The lower
 * half keeps a retrying agent from ever hammering the server; the random
 * upper half spreads a fleet that lost its server at the same moment, so
 * the devices do not come back in one wave.
 */
export class Backoff {
  #attempt = 0;
  readonly #random: () => number;

  constructor(readonly options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`);
    }
    this.#random = options.random ?? Math.random;
  }

  /** Attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The ceiling of the next delay (without jitter). */
  ceiling(): number {
    // 2^attempt overflows to Infinity long after it passed maxMs; min() keeps it bounded.
    return Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.#attempt, 64));
  }

  /** The next delay in ms, and counts the attempt. */
  next(): number {
    const c = this.ceiling();
    this.#attempt++;
    const r = Math.min(Math.max(this.#random(), 0), 1);
    return Math.round(c / 2 + (r * c) / 2);
  }

  /** After a success: the next delay starts again from the initial one. */
  reset(): void {
    this.#attempt = 0;
  }
}
