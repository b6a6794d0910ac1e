import type { EnrollRejection } from '@vigil/protocol/core';

/**
 * What became of one enrollment message: a challenge sent, a device
 * enrolled (or re-enrolled, as an administrator allowed, or `resumed`: an
 * enrollment that had completed answered again for the same client whose
 * result was lost), or a named refusal.
 * These are the label values of the enrollment-results metric.
 */
export type EnrollmentOutcome = 'challenged' | 'enrolled' | 'reenrolled' | 'resumed' | EnrollRejection;

/** Receives every outcome; the admin API's metrics registry plugs in here. */
export type EnrollmentOutcomeSink = (outcome: EnrollmentOutcome) => void;

/** Counts outcomes in memory: the registrar's own tally, readable at any time. */
export class OutcomeCounter {
  readonly #counts = new Map<EnrollmentOutcome, number>();

  add(outcome: EnrollmentOutcome): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
  }

  get(outcome: EnrollmentOutcome): number {
    return this.#counts.get(outcome) ?? 0;
  }

  /** Every outcome seen so far with its count. */
  snapshot(): Readonly<Partial<Record<EnrollmentOutcome, number>>> {
    return Object.fromEntries(this.#counts);
  }
}
