import { reason } from '../../../policy/appraise/reason.js';
import type { Appraisal, ChallengeAnswer, PipelineDeps, StepResult } from '../appraisal.js';

const MESSAGES = {
  unknown: 'the evidence answers a challenge this verifier never issued',
  'other-device': 'the evidence answers a challenge issued to another device',
  used: 'the challenge was already answered: this evidence is a replay',
  expired: 'the challenge expired before the evidence arrived',
} as const;

const USED: ChallengeAnswer = { ok: false, reason: 'used' };

/**
 * Step 3, freshness: the challenge the evidence names must be known (sealed
 * with the verifier's key), issued to this device, unused and unexpired,
 * checked in the order unknown, other device, used, expired: evidence
 * replayed after its challenge expired is still a replay. A late answer only
 * warns. Its use is claimed in this process here, before the signature is
 * checked, and recorded in the store with the verdict, atomically (single
 * use across every verifier process sharing the store: `Store.recordAnswer`);
 * evidence whose use the store already had is appraised again as a replay
 * (`Appraisal.replay`).
 */
export async function challengeStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  const evidence = a.evidence!;
  const consumed = a.replay ? USED : await deps.consumeChallenge(evidence.challengeId, a.deviceId, a.receivedAt);
  if (!consumed.ok) {
    const code = `challenge-${consumed.reason}` as const;
    a.v.fail('identity', consumed.reason === 'expired' ? 'warning' : 'contraindicated', reason(code, MESSAGES[consumed.reason]));
    return 'stop';
  }
  a.challenge = consumed.challenge;
  a.use = consumed.use;
  return 'continue';
}
