import { EXPIRED_KEPT_MS, type ChallengeConsumption, type ChallengeUse } from '../../store/index.js';
import type { ChallengeAnswer } from '../pipeline/appraisal.js';
import type { ChallengeSeal } from './sealed-challenge.js';

/** The store operations an answer needs (the verifier's batched writes where it batches them). */
export interface AnswerStore {
  /** Records a sealed challenge's use: true if first. */
  use(use: ChallengeUse): Promise<boolean>;
  /** Whether a sealed challenge's use is recorded (`Store.isChallengeUsed`). */
  isUsed(id: string, expiresAt: number): Promise<boolean>;
  /** Consumes a challenge of the stored form (`Store.consumeChallenge`). */
  consumeStored(id: string, deviceId: string, now: number): Promise<ChallengeConsumption>;
}

/**
 * Step 3's judgement of the challenge an answer names, in the order
 * unknown, other device, used, expired. A sealed id is opened with the key
 * (unknown, other device), then its use is recorded (used) if it has not
 * expired. An expired one is looked up, so that a replay after expiry is
 * still called a replay; one expired longer than the store keeps uses
 * (`EXPIRED_KEPT_MS`) may have lost its record and is unknown, as a pruned
 * stored challenge was. An id of the stored form (a challenge issued before
 * sealed challenges, open at an upgrade) is the store's to judge.
 */
export async function acceptAnswer(seal: ChallengeSeal, store: AnswerStore, id: string, deviceId: string, now: number): Promise<ChallengeAnswer> {
  const opened = seal.open(id, deviceId);
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
      const first = await store.use({ id, deviceId, usedAt: now, expiresAt: challenge.expiresAt });
      return first ? { ok: true, challenge } : { ok: false, reason: 'used' };
    }
  }
}
