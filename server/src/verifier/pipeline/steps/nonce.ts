import { timingSafeEqual } from 'node:crypto';
import { reason } from '../../../policy/appraise/reason.js';
import type { Appraisal, StepResult } from '../appraisal.js';

/**
 * Step 5, the quote answers this challenge: TPMS_ATTEST.extraData must be
 * the challenge's nonce (the qualifyingData of TPM2_Quote, Part 3 §18.4).
 * Evidence made for an earlier challenge fails here even if it names the
 * current one.
 */
export function nonceStep(a: Appraisal): StepResult {
  const extra = a.attest!.extraData;
  const nonce = a.challenge!.nonce;
  if (extra.length !== nonce.length || !timingSafeEqual(extra, nonce)) {
    a.v.fail(
      'identity',
      'contraindicated',
      reason('nonce-mismatch', 'the quote was not made for this challenge: its extraData is not the nonce', {
        expected: Buffer.from(nonce).toString('hex'),
        actual: Buffer.from(extra).toString('hex').slice(0, 128),
      }),
    );
    return 'stop';
  }
  return 'continue';
}
