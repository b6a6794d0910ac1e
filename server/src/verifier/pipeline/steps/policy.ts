import { appraiseBanks } from '../../../policy/appraise/banks.js';
import { appraiseBoot } from '../../../policy/appraise/boot.js';
import { deviceBanks } from '../../challenges/device-banks.js';
import { appraiseModels } from '../../../policy/appraise/models.js';
import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';

/**
 * Step 12, the policy, on facts the earlier steps bound to the quote:
 * golden PCR values, event-log reference values and the secure boot state
 * (`boot`, only once the event log replayed), the PCR banks it needs that
 * the quote lacks (`boot`, `pcr-bank-unavailable`), and the model allowlist
 * (`models`, only once the model log replayed). Each divergence is a reason
 * naming the PCR, event or file; the policy's `onFailure` decides whether it
 * contraindicates or warns.
 */
export function policyStep(a: Appraisal, deps: PipelineDeps): StepResult {
  const policy = a.policy!;
  const quoted = a.evidence!.pcrs;
  if (a.v.passing('boot')) {
    const facts = { quoted, bootLog: a.bootLog, models: a.models };
    for (const r of appraiseBoot(policy, facts)) a.v.fail('boot', policy.disposition.boot, r);
  }
  // Whatever the boot log showed: the quote itself says which banks are missing.
  for (const r of appraiseBanks(policy, quoted, deviceBanks(a.device!))) a.v.fail('boot', policy.disposition.boot, r);
  if (a.v.passing('models')) {
    const result = appraiseModels(policy, a.models, deps.fleetAllowlist());
    for (const r of result.reasons) a.v.fail('models', policy.disposition.models, r);
  }
  return 'continue';
}
