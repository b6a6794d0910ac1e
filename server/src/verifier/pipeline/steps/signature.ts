import { TPMT_SIGNATURE, TpmPublicKeyError, TpmUnmarshalError, unmarshal, verifyTpmSignatureAsync } from '@vigil/tpm2-ts';
import { reason } from '../../../policy/appraise/reason.js';
import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';

/**
 * Step 6, the quote is signed by this device's AK: the TPMT_SIGNATURE must
 * decode, use the scheme the AK's public area fixes, and verify over the
 * TPMS_ATTEST bytes exactly as received (never re-marshalled). The AK comes
 * from enrollment, where its binding to the EK was proven; its KeyObject is
 * cached per device. A quote signed by any other key, another device's AK
 * included, fails here. The signature math runs on libuv's thread pool: it
 * was the largest single cost of a verdict on the event loop (an ECDSA P-256
 * verification, ~120 µs), which meanwhile serves other devices' messages.
 */
export async function signatureStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  let key;
  try {
    key = deps.states.akKey(a.state!, a.device!);
  } catch (err) {
    if (!(err instanceof TpmPublicKeyError)) throw err;
    a.v.fail('identity', 'contraindicated', reason('ak-unusable', `the enrolled AK cannot verify signatures: ${err.message}`));
    return 'stop';
  }
  let signature;
  try {
    signature = unmarshal(TPMT_SIGNATURE, Buffer.from(a.evidence!.signature, 'base64'));
  } catch (err) {
    if (!(err instanceof TpmUnmarshalError)) throw err;
    a.v.fail('identity', 'contraindicated', reason('malformed-signature', `TPMT_SIGNATURE: ${err.message}`));
    return 'stop';
  }
  const check = await verifyTpmSignatureAsync(key, a.quoteBytes!, signature);
  if (!check.ok) {
    a.v.fail('identity', 'contraindicated', reason(check.reason, check.message));
    return 'stop';
  }
  a.signature = signature;
  a.signatureHash = check.hash.nodeName;
  return 'continue';
}
