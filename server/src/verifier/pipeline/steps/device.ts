import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';

/**
 * Step 2, device enrolled and not revoked. The id comes from the topic the
 * broker tied to the client certificate, never from the payload. The broker
 * already refuses revoked devices at connect; this catches evidence in
 * flight when the revocation happened. Then the policy that applies is
 * resolved and the verdict started.
 */
export async function deviceStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  const device = await deps.store.getDevice(a.deviceId);
  if (device === null) return { code: 'device-unknown', message: `no enrolled device ${a.deviceId}` };
  if (device.revoked) return { code: 'device-revoked', message: `device ${a.deviceId} is revoked` };
  a.device = device;
  a.state = deps.states.get(device.id);
  a.startVerdict(deps.policyFor(device));
  a.v.appraise('identity');
  return 'continue';
}
