/**
 * The sealed challenges this verifier process has accepted an answer to,
 * each until it expires. Step 3 claims a challenge here before anything
 * else is spent on the evidence (the signature check above all): a second
 * answer to the same challenge reaching this process is a replay at once,
 * without a store round trip. The durable record of the use is written with
 * the verdict, in the same transaction (`Store.recordAnswer`); it is what
 * decides between verifier processes sharing the store, and after a
 * restart: an answer claimed here whose use another process recorded first
 * comes back from the store as `used` and is appraised again as the replay
 * it is (`Verifier.appraise`).
 *
 * Memory: one entry per challenge answered within its lifetime (issue rate
 * × challenge TTL); expired entries go in sweeps, at most one per
 * `sweepEveryMs`, from the oldest (entries are kept in the order claimed,
 * which is the order of expiry while the TTL is fixed; one out of order
 * only stays a sweep longer).
 */
export class ChallengeClaims {
  /** Challenge id → its expiry (epoch ms), in the order claimed. */
  readonly #claims = new Map<string, number>();
  #nextSweepAt = 0;

  constructor(private readonly sweepEveryMs = 1000) {}

  /** Claims `id` (expiring at `expiresAt`) at `now`: true if no answer to it was claimed before in this process. */
  claim(id: string, expiresAt: number, now: number): boolean {
    if (now >= this.#nextSweepAt) this.#sweep(now);
    if (this.#claims.has(id)) return false;
    this.#claims.set(id, expiresAt);
    return true;
  }

  /** Whether an answer to `id` was claimed in this process (and has not been swept since its expiry). */
  has(id: string): boolean {
    return this.#claims.has(id);
  }

  get size(): number {
    return this.#claims.size;
  }

  #sweep(now: number): void {
    this.#nextSweepAt = now + this.sweepEveryMs;
    for (const [id, expiresAt] of this.#claims) {
      if (expiresAt > now) break;
      this.#claims.delete(id);
    }
  }
}
