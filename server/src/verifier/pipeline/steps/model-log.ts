import type { ImaEntry } from '@vigil/evidence';
import { reason } from '../../../policy/appraise/reason.js';
import type { ModelMeasurementRecord } from '../../../store/index.js';
import type { Appraisal, StepResult } from '../appraisal.js';
import { checkMeasurementLog, type MeasurementLogKind } from './measurement-log.js';

/** A model log chunk inflates to at most this. */
export const MAX_MODEL_INFLATED = 16 * 1024 * 1024;
/** Model measurements kept per boot: far beyond any real model set re-measured on every change. */
export const MAX_MODEL_MEASUREMENTS = 16_384;

/**
 * Step 11, the model measurement log replays to the model PCR (submodule
 * `models`). Every entry must be an `ima-ng` record of a SHA-256 file digest
 * on the model PCR. The verified measurements of the whole boot are kept
 * for the allowlist check in the policy step.
 */
export async function modelLogStep(a: Appraisal): Promise<StepResult> {
  const next = a.nextLogState!;
  const pcr = a.policy!.modelPcr;
  const kind: MeasurementLogKind = {
    submodule: 'models',
    prefix: 'model',
    pcr,
    disposition: a.policy!.disposition.models,
    maxInflated: MAX_MODEL_INFLATED,
    validate: (e: ImaEntry) => {
      const t = e.template;
      if (t.kind !== 'ima-ng' || t.algorithm !== 'sha256' || t.digest.length !== 32) {
        return { code: 'model-entry-not-ima-ng', message: `model log entry ${e.index} is not an ima-ng record of a SHA-256 file digest` };
      }
      if (e.pcr !== pcr) return { code: 'model-entry-wrong-pcr', message: `model log entry ${e.index} extends PCR ${e.pcr}, not the model PCR ${pcr}` };
      return undefined;
    },
  };
  const outcome = await checkMeasurementLog(a, kind, next.model, a.evidence!.modelLog);
  if (outcome === undefined) return 'continue';
  // A chunk that restarts the log at 0 replaces what was verified before.
  const base = outcome.firstEntry === 0 ? [] : next.model.measurements;
  const added: ModelMeasurementRecord[] = outcome.verified.map((e, i) => {
    const t = e.template as Extract<ImaEntry['template'], { kind: 'ima-ng' }>;
    return { entry: outcome.firstEntry + i, path: t.path, digest: Buffer.from(t.digest).toString('hex') };
  });
  const measurements = [...base, ...added];
  if (measurements.length > MAX_MODEL_MEASUREMENTS) {
    a.v.fail('models', a.policy!.disposition.models, reason('model-log-too-long', `more than ${MAX_MODEL_MEASUREMENTS} model measurements in one boot`));
    return 'continue';
  }
  a.nextLogState = { ...next, model: { ...outcome.state, measurements } };
  a.models = measurements;
  return 'continue';
}
