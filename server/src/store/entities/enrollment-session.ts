import type { EpochMs, JsonObject } from './common.js';

/**
 * The server's side of one MakeCredential exchange, kept in the store (not
 * in process memory) so that any verifier replica can check the proof.
 */
export interface NewEnrollmentSession {
  readonly id: string;
  readonly bootstrapId: string;
  /** The credential secret the TPM must release (the proof's HMAC key). Wiped from the store when consumed. */
  readonly secret: Uint8Array;
  /** Whatever the registrar needs at proof time (device id, keys, facts, token hash). */
  readonly context: JsonObject;
  readonly expiresAt: EpochMs;
}

export interface EnrollmentSession extends NewEnrollmentSession {
  readonly createdAt: EpochMs;
  readonly usedAt: EpochMs | null;
}

export type SessionRejection = 'unknown' | 'expired' | 'used' | 'other-client';

export type SessionConsumption =
  | { readonly ok: true; readonly session: EnrollmentSession }
  | { readonly ok: false; readonly reason: SessionRejection };
