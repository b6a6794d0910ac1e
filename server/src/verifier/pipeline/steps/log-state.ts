import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';
import { emptyLogState } from '../../state/device-state.js';

/**
 * Between the clock and the logs: the device's log state for this boot.
 * A quote from another boot than the state's (a reboot, or the first
 * evidence) starts the measurement logs afresh. If the evidence continues
 * its logs from offsets this process does not know, the state is re-read
 * from the store first: another verifier process may have moved it on.
 */
export async function logStateStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  let state = await deps.states.logState(a.state!);
  const ev = a.evidence!;
  const offsetsDisagree = (chunk: { offset: number } | undefined, entries: number) => chunk !== undefined && chunk.offset !== 0 && chunk.offset !== entries;
  if (offsetsDisagree(ev.imaLog, state.ima.entries) || offsetsDisagree(ev.modelLog, state.model.entries)) {
    state = await deps.states.reloadLogState(a.state!);
  }
  const resetCount = a.clock!.resetCount;
  a.nextLogState = state.resetCount === resetCount ? { ...state } : { ...emptyLogState(a.deviceId), resetCount, verifiedPcrs: state.verifiedPcrs };
  return 'continue';
}
