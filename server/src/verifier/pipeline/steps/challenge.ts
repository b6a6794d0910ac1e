import { reason } from '../../../policy/appraise/reason.js';
import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';

const MESSAGES = {
  unknown: 'the evidence answers a challenge this verifier never issued',
  'other-device': 'the evidence answers a challenge issued to another device',
  used: 'the challenge was already answered: this evidence is a replay',
  expired: 'the challenge expired before the evidence arrived',
} as const;

/**
 * Step 3, freshness: the challenge the evidence names must be known (sealed
 * with the verifier's key), issued to this device, unused and unexpired. Its
 * use is recorded atomically in the store (single use across every verifier
 * process sharing it), checked in the order unknown, other device, used,
 * expired: evidence replayed after its challenge expired is still a replay.
 * A late answer only warns.
 */
export async function challengeStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  const evidence = a.evidence!;
  const consumed = await deps.consumeChallenge(evidence.challengeId, a.deviceId, a.receivedAt);
  if (!consumed.ok) {
    const code = `challenge-${consumed.reason}` as const;
    a.v.fail('identity', consumed.reason === 'expired' ? 'warning' : 'contraindicated', reason(code, MESSAGES[consumed.reason]));
    return 'stop';
  }
  a.challenge = consumed.challenge;
  return 'continue';
}
