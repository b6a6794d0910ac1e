import { parseQuoteAttest, TpmAttestError } from '@vigil/tpm2-ts';
import { reason } from '../../../policy/appraise/reason.js';
import type { Appraisal, StepResult } from '../appraisal.js';

/**
 * Step 4, TPMS_ATTEST magic and type (TPM 2.0 Part 2 §10.12.12): the magic
 * must be TPM_GENERATED_VALUE, which a restricted key only ever signs over
 * TPM-made structures, and the type TPM_ST_ATTEST_QUOTE. The structure is
 * decoded here, unauthenticated until the signature step.
 */
export function attestStep(a: Appraisal): StepResult {
  const bytes = Buffer.from(a.evidence!.quote, 'base64');
  try {
    a.attest = parseQuoteAttest(bytes);
  } catch (err) {
    if (!(err instanceof TpmAttestError)) throw err;
    const code = err.reason === 'malformed' ? 'quote-malformed' : err.reason;
    a.v.fail('identity', 'contraindicated', reason(code, err.message));
    return 'stop';
  }
  a.quoteBytes = bytes;
  return 'continue';
}
