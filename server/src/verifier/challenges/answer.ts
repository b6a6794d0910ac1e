import { EXPIRED_KEPT_MS, type ChallengeConsumption, type ChallengeUse, type Store } from '../../store/index.js';
import type { ChallengeClaims } from './claims.js';
import type { ChallengeAnswer } from '../pipeline/appraisal.js';
import type { ChallengeSeal } from './sealed-challenge.js';

/** Opens the ids answers name: the seal, or what stands for it (`Verifier`: the challenges it issued itself first). */
export type ChallengeOpener = Pick<ChallengeSeal, 'open'>;

/** What judging an answer needs: this process's claims, and the store (the verifier's batched writes where it batches them). */
export interface AnswerStore {
  /** Claims a sealed challenge's use in this process (`ChallengeClaims.claim`): true if first here. */
  claim(use: ChallengeUse): boolean;
  /** Whether a sealed challenge was used: claimed in this process or its use recorded (`Store.isChallengeUsed`). */
  isUsed(id: string, expiresAt: number): Promise<boolean>;
  /** Consumes a challenge of the stored form (`Store.consumeChallenge`). */
  consumeStored(id: string, deviceId: string, now: number): Promise<ChallengeConsumption>;
}

/**
 * The answers of one verifier process: its own claims first, then the
 * store, which holds the uses recorded with verdicts (by any process).
 */
export function processAnswers(claims: ChallengeClaims, store: Pick<Store, 'isChallengeUsed'>, consumeStored: AnswerStore['consumeStored']): AnswerStore {
  return {
    claim: (use) => claims.claim(use.id, use.expiresAt, use.usedAt),
    isUsed: async (id, expiresAt) => claims.has(id) || store.isChallengeUsed(id, expiresAt),
    consumeStored,
  };
}

/**
 * Step 3's judgement of the challenge an answer names, in the order
 * unknown, other device, used, expired. A sealed id is opened with the key
 * (unknown, other device), then its use is claimed in this process (used)
 * if it has not expired; the accepted answer carries the use, which the
 * verifier records with the verdict (`Store.recordAnswer`: the store has
 * the last word between processes). An expired one is looked up, so that a replay after expiry is
 * still called a replay; one expired longer than the store keeps uses
 * (`EXPIRED_KEPT_MS`) may have lost its record and is unknown, as a pruned
 * stored challenge was. An id of the stored form (a challenge issued before
 * sealed challenges, open at an upgrade) is the store's to judge.
 */
export async function acceptAnswer(opener: ChallengeOpener, store: AnswerStore, id: string, deviceId: string, now: number): Promise<ChallengeAnswer> {
  const opened = opener.open(id, deviceId);
  switch (opened.kind) {
    case 'stored':
      return store.consumeStored(id, deviceId, now);
    case 'unknown':
    case 'other-device':
      return { ok: false, reason: opened.kind };
    case 'sealed': {
      const { challenge } = opened;
      if (challenge.expiresAt <= now) {
        if (challenge.expiresAt < now - EXPIRED_KEPT_MS) return { ok: false, reason: 'unknown' };
        return { ok: false, reason: (await store.isUsed(id, challenge.expiresAt)) ? 'used' : 'expired' };
      }
      const use: ChallengeUse = { id, deviceId, usedAt: now, expiresAt: challenge.expiresAt };
      return store.claim(use) ? { ok: true, challenge, use } : { ok: false, reason: 'used' };
    }
  }
}
