import type { LogOffsets, PcrSelection } from '@vigil/protocol/core';
import type { EpochMs } from './common.js';
import type { TpmClockState } from './device.js';

/**
 * An attestation challenge recorded in the store when issued (the form
 * before sealed challenges: see `ChallengeUse`). The verifier no longer
 * creates these; it still consumes those issued before an upgrade, until
 * they expire.
 */
export interface NewChallenge {
  readonly id: string;
  readonly deviceId: string;
  /** 32 random bytes; the quote's qualifyingData. */
  readonly nonce: Uint8Array;
  readonly pcrSelection: PcrSelection;
  readonly offsets: LogOffsets;
  readonly expiresAt: EpochMs;
}

export interface ChallengeRecord extends NewChallenge {
  readonly createdAt: EpochMs;
  readonly usedAt: EpochMs | null;
  /**
   * The device's TPM clock as the store held it when the challenge was
   * created (`Device.tpmClock` then; null before its first verified quote),
   * read by the store in the statement that inserts the challenge. The
   * freshness anchor of the clock check: a quote answering this challenge
   * was made after it existed, so it cannot be older than any clock verified
   * before it — whatever order concurrent answers are appraised in.
   */
  readonly tpmClockAtIssue: TpmClockState | null;
}

/** Why evidence cannot answer a challenge (checked in this order). */
export type ChallengeRejection = 'unknown' | 'other-device' | 'used' | 'expired';

export type ChallengeConsumption =
  | { readonly ok: true; readonly challenge: ChallengeRecord }
  | { readonly ok: false; readonly reason: ChallengeRejection };

/** One consumption in a batch (`applyBatch`). */
export interface ChallengeConsumptionRequest {
  readonly id: string;
  readonly deviceId: string;
  readonly now: EpochMs;
}

/**
 * The use of a sealed challenge (`server/src/verifier/challenges/sealed-challenge.ts`):
 * such a challenge is authenticated by its id and never stored when issued;
 * its single use is this record, made when evidence answers it. Kept past
 * `expiresAt` (until pruned) so that a replay after expiry is still told
 * apart as a replay.
 */
export interface ChallengeUse {
  readonly id: string;
  readonly deviceId: string;
  readonly usedAt: EpochMs;
  readonly expiresAt: EpochMs;
}
