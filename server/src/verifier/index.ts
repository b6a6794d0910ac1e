/**
 * The continuous-attestation verifier (see README.md): challenges, the
 * verification pipeline, verdicts, staleness.
 */
export { verifierComponent, stalenessComponent, VerifierService } from './component.js';
export { Verifier, type AppraisalOutcome, type AttestNowOutcome, type VerifierDeps, type VerifierOptions, type Revoker } from './verifier.js';
export { PIPELINE, runPipeline } from './pipeline/pipeline.js';
export { REASON_CODES, type ReasonCode } from './reasons.js';
export { StalenessMonitor } from './staleness/monitor.js';
export { VerdictBuilder, VERIFIER_ID } from './verdict.js';
