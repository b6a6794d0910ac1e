import type { EpochMs } from './common.js';

/**
 * A webhook call waiting in the outbox, or its record once delivered or
 * given up. The outbox lives in the store so that a call survives a
 * restart; `eventKey` makes enqueuing the same event twice (e.g. when
 * revocation side effects are re-applied) a no-op.
 */
export interface WebhookDelivery {
  readonly id: number;
  /** Unique per event, e.g. `revocation:17`. */
  readonly eventKey: string;
  /** What the body describes, e.g. `revocation`. */
  readonly kind: string;
  /** The exact JSON body to POST (and to sign). */
  readonly body: string;
  readonly createdAt: EpochMs;
  readonly attempts: number;
  readonly nextAttemptAt: EpochMs;
  readonly lastError: string | null;
  readonly deliveredAt: EpochMs | null;
  /** Set when the dispatcher gave up (too many attempts). */
  readonly failedAt: EpochMs | null;
}

export interface NewWebhookDelivery {
  readonly eventKey: string;
  readonly kind: string;
  readonly body: string;
  /** Default: now. */
  readonly notBefore?: EpochMs;
}

/** What happened to one delivery attempt. */
export type WebhookAttempt =
  | { readonly id: number; readonly at: EpochMs; readonly outcome: 'delivered' }
  | { readonly id: number; readonly at: EpochMs; readonly outcome: 'retry'; readonly error: string; readonly nextAttemptAt: EpochMs }
  | { readonly id: number; readonly at: EpochMs; readonly outcome: 'failed'; readonly error: string };
