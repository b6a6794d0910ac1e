import { decodeEvidence, ProtocolError } from '@vigil/protocol';
import type { Appraisal, StepResult } from '../appraisal.js';

/**
 * Step 1, schema and size: the payload must be at most 8 MiB and decode as
 * an `Evidence` message (size checked before parsing, depth and forbidden
 * keys before `JSON.parse`, then the compiled schema; see @vigil/protocol).
 * A refusal is an error result, not a verdict: nothing was appraised.
 */
export function decodeEvidenceStep(a: Appraisal): StepResult {
  const decoded = decodeEvidence(a.payload);
  if (decoded instanceof ProtocolError) {
    const code = decoded.reason === 'invalid-id' ? 'schema' : decoded.reason;
    return { code, message: decoded.message };
  }
  a.evidence = decoded;
  return 'continue';
}
