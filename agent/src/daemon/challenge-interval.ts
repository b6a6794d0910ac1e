/**
 * Estimates when the server's next scheduled challenge is due from the
 * gaps between the challenges seen so far: the median of the last few
 * gaps, so that the extra challenges the agent asked for (after a model
 * change or a reconnect) do not drag the estimate down for long.
 */
export class ChallengeInterval {
  readonly #gaps: number[] = [];
  #last: number | undefined;

  constructor(private readonly window = 7) {}

  /** A challenge arrived at `at` (ms). */
  seen(at: number): void {
    if (this.#last !== undefined && at > this.#last) {
      this.#gaps.push(at - this.#last);
      if (this.#gaps.length > this.window) this.#gaps.shift();
    }
    this.#last = at;
  }

  /** The typical gap, or undefined before two challenges were seen. */
  typicalGapMs(): number | undefined {
    if (this.#gaps.length === 0) return undefined;
    const sorted = [...this.#gaps].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  /** When the next challenge is expected, or undefined when unknown. */
  nextExpectedAt(): number | undefined {
    const gap = this.typicalGapMs();
    return gap === undefined || this.#last === undefined ? undefined : this.#last + gap;
  }
}
