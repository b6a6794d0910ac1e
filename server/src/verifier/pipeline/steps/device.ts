import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';

/**
 * Step 2, device enrolled and not revoked. The id comes from the topic the
 * broker tied to the client certificate, never from the payload. The broker
 * already refuses revoked devices at connect; this catches evidence in
 * flight when the revocation happened. Then the policy that applies is
 * resolved and the verdict started.
 */
export async function deviceStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  // Revoked and the rest that can change are read from the store for every piece of evidence.
  const state = deps.states.get(a.deviceId);
  const device = (await deps.states.current(state))?.device ?? null;
  if (device === null) return { code: 'device-unknown', message: `no enrolled device ${a.deviceId}` };
  if (device.revoked) return { code: 'device-revoked', message: `device ${a.deviceId} is revoked` };
  a.device = device;
  a.state = state;
  a.startVerdict(deps.policyFor(device));
  a.v.appraise('identity');
  return 'continue';
}
