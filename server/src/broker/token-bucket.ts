/**
 * A token bucket (capacity `burst`, refilled at `ratePerSecond`): allows
 * bursts up to `burst`, then a steady rate. Time is passed in by the caller
 * (milliseconds, monotonic) so that there is no clock read inside.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket has refilled completely (so it carries no state worth keeping). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.#tokens >= this.burst;
  }

  private refill(now: number): void {
    const elapsed = now - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1000);
      this.#last = now;
    }
  }
}

/**
 * One token bucket per key (an IP address), in a bounded map: full buckets
 * are forgotten by `sweep`, and past `maxKeys` the oldest key is evicted, so
 * a flood of distinct addresses cannot grow memory without bound.
 */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  /** Keys whose refusal has been logged since their bucket last allowed a take. */
  readonly #reported = new Set<string>();

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly maxKeys = 100_000,
  ) {}

  /** Takes a token for `key`. `firstRefusal` is true once per run of refusals (log that one). */
  take(key: string, now: number): { allowed: boolean; firstRefusal: boolean } {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) {
          this.#buckets.delete(oldest);
          this.#reported.delete(oldest);
        }
      }
      bucket = new TokenBucket(this.ratePerSecond, this.burst, now);
      this.#buckets.set(key, bucket);
    }
    if (bucket.take(now)) {
      this.#reported.delete(key);
      return { allowed: true, firstRefusal: false };
    }
    const firstRefusal = !this.#reported.has(key);
    this.#reported.add(key);
    return { allowed: false, firstRefusal };
  }

  /** Forgets keys whose buckets are full again. */
  sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull(now)) {
        this.#buckets.delete(key);
        this.#reported.delete(key);
      }
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
