import type { StoreError } from '../errors.js';
import type { RecordAnswerResult, RecordAttestationInput, RecordAttestationResult } from './attestation.js';
import type { ChallengeConsumption, ChallengeConsumptionRequest, ChallengeRecord, ChallengeUse, NewChallenge } from './challenge.js';

/**
 * One of the verifier's per-message writes, for `Store.applyBatch`: all of
 * one turn of its event loop are committed together (group commit).
 */
export type BatchedWrite =
  | { readonly kind: 'create-challenge'; readonly challenge: NewChallenge }
  | { readonly kind: 'consume-challenge'; readonly request: ChallengeConsumptionRequest }
  | { readonly kind: 'use-challenge'; readonly use: ChallengeUse }
  | { readonly kind: 'record-attestation'; readonly input: RecordAttestationInput }
  | { readonly kind: 'record-answer'; readonly use: ChallengeUse; readonly input: RecordAttestationInput };

/** What a batched write came to: what its single-write method returns, or the StoreError it would throw. */
export type BatchedOutcome<W extends BatchedWrite = BatchedWrite> = W extends { kind: 'create-challenge' }
  ? ChallengeRecord | StoreError
  : W extends { kind: 'consume-challenge' }
    ? ChallengeConsumption | StoreError
    : W extends { kind: 'use-challenge' }
      ? boolean | StoreError
      : W extends { kind: 'record-answer' }
        ? RecordAnswerResult | StoreError
        : RecordAttestationResult | StoreError;
