import type { Appraisal, PipelineDeps, Step } from './appraisal.js';
import { attestStep } from './steps/attest.js';
import { challengeStep } from './steps/challenge.js';
import { clockStep } from './steps/clock.js';
import { decodeEvidenceStep } from './steps/decode-evidence.js';
import { deviceStep } from './steps/device.js';
import { eventLogStep } from './steps/event-log.js';
import { imaLogStep } from './steps/ima-log.js';
import { logStateStep } from './steps/log-state.js';
import { modelLogStep } from './steps/model-log.js';
import { nonceStep } from './steps/nonce.js';
import { pcrDigestStep } from './steps/pcr-digest.js';
import { policyStep } from './steps/policy.js';
import { signatureStep } from './steps/signature.js';

/**
 * The verification pipeline, in order (design brief, "Verification
 * pipeline"). Each step passes or records its named reason; the identity
 * steps stop the pipeline on failure (nothing after a failed signature or
 * freshness check can be believed), the boot, os and models steps record
 * and go on so one verdict names every divergence.
 */
export const PIPELINE: ReadonlyArray<{ readonly name: string; readonly run: Step }> = [
  { name: 'schema', run: decodeEvidenceStep },
  { name: 'device', run: deviceStep },
  { name: 'challenge', run: challengeStep },
  { name: 'attest', run: attestStep },
  { name: 'nonce', run: nonceStep },
  { name: 'signature', run: signatureStep },
  { name: 'pcr-digest', run: pcrDigestStep },
  { name: 'clock', run: clockStep },
  { name: 'log-state', run: logStateStep },
  { name: 'event-log', run: eventLogStep },
  { name: 'ima-log', run: imaLogStep },
  { name: 'model-log', run: modelLogStep },
  { name: 'policy', run: policyStep },
];

/**
 * Runs the pipeline on one piece of evidence. Afterwards either
 * `a.failure` says why there is no verdict, or `a.verdict` holds it.
 */
export async function runPipeline(a: Appraisal, deps: PipelineDeps): Promise<void> {
  for (const step of PIPELINE) {
    // Most steps are synchronous: awaiting their plain result would still cost a microtask turn each.
    const run = step.run(a, deps);
    const result = typeof run === 'string' || !('then' in run) ? run : await run;
    if (result === 'continue') continue;
    if (result === 'stop') {
      // The identity checks failed: the rest of the evidence is not appraised.
      a.v.notAppraised('boot', 'models');
      return;
    }
    a.failure = result;
    return;
  }
}
