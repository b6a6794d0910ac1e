import type { ImaEntry } from '@vigil/evidence';
import type { Appraisal, StepResult } from '../appraisal.js';
import { IMA_PCR } from './event-log.js';
import { checkMeasurementLog, type MeasurementLogKind } from './measurement-log.js';

/** An IMA chunk inflates to at most this. */
export const MAX_IMA_INFLATED = 64 * 1024 * 1024;

/**
 * Step 10, the IMA runtime measurement log replays to PCR 10 (submodule
 * `os`), as the kernel extends it. Appraised when PCR 10 is quoted (a policy
 * selects it); the IMA log's content is not otherwise judged yet.
 */
export async function imaLogStep(a: Appraisal): Promise<StepResult> {
  const next = a.nextLogState!;
  const kind: MeasurementLogKind = {
    submodule: 'os',
    prefix: 'ima',
    pcr: IMA_PCR,
    disposition: a.policy!.disposition.os,
    maxInflated: MAX_IMA_INFLATED,
    validate: (e: ImaEntry) =>
      e.pcr === IMA_PCR ? undefined : { code: 'ima-entry-wrong-pcr', message: `IMA entry ${e.index} extends PCR ${e.pcr}, not ${IMA_PCR}` },
  };
  const outcome = await checkMeasurementLog(a, kind, next.ima, a.evidence!.imaLog);
  if (outcome !== undefined) a.nextLogState = { ...next, ima: outcome.state };
  return 'continue';
}
