import { reason } from '../../../policy/appraise/reason.js';
import type { TpmClockState } from '../../../store/index.js';
import type { Appraisal, StepResult } from '../appraisal.js';

/**
 * Step 8, the TPM clock (TPMS_CLOCK_INFO, Part 2 §10.11.1; Part 1 §36)
 * against the clock the store held when the answered challenge was issued
 * (`IssuedChallenge.tpmClockAtIssue`, sealed in its id), not against the
 * device's latest one.
 * The quote carries the challenge's nonce (step 5), so the TPM made it after
 * the challenge existed: its clock cannot be below any clock verified before
 * that. The device's latest clock is no such bound: two answers of one
 * device may be appraised at once (verifier replicas), and the later quote
 * may be committed first; judged against it, the earlier honest quote would
 * look like a rollback.
 * - resetCount up: a TPM Reset, i.e. a reboot. Recorded (a `tpm-reboot`
 *   note), not a failure; the measurement logs restart with the boot.
 * - restartCount up with the same resetCount: a TPM Restart/Resume (e.g.
 *   hibernation), recorded.
 * - resetCount down, or restartCount down within a boot: the TPM's state was
 *   rolled back (restored from a copy): contraindicated.
 * - clock went back without a reset: contraindicated. `clock` only stops
 *   (and may lose what was not yet saved) across a power loss, which is
 *   always a TPM Reset.
 * Only a signed quote gets here, so these values are the TPM's own. The
 * store keeps the device's clock monotonic on its own (`recordAttestation`
 * never moves it back), so the next challenge's anchor is the latest.
 */
export function clockStep(a: Appraisal): StepResult {
  const info = a.attest!.clockInfo;
  const now: TpmClockState = { clock: info.clock, resetCount: info.resetCount, restartCount: info.restartCount };
  const anchor = a.challenge!.tpmClockAtIssue;
  const fail = (code: string, message: string): StepResult => {
    a.v.fail('identity', 'contraindicated', reason(code, message, { expected: describe(anchor!), actual: describe(now) }));
    return 'stop';
  };
  if (anchor !== null) {
    if (now.resetCount < anchor.resetCount) return fail('reset-count-decreased', `resetCount went back from ${anchor.resetCount} to ${now.resetCount}: the TPM state was rolled back`);
    if (now.resetCount === anchor.resetCount) {
      if (now.restartCount < anchor.restartCount) {
        return fail('restart-count-decreased', `restartCount went back from ${anchor.restartCount} to ${now.restartCount} within one boot`);
      }
      if (now.clock < anchor.clock) return fail('clock-went-back', `the TPM clock went back from ${anchor.clock} to ${now.clock} ms without a reset`);
      if (now.restartCount > anchor.restartCount) a.v.note('identity', reason('tpm-restart', `TPM restart (resume): restartCount ${anchor.restartCount} → ${now.restartCount}`));
    } else {
      a.rebooted = true;
      a.v.note('identity', reason('tpm-reboot', `the device rebooted: resetCount ${anchor.resetCount} → ${now.resetCount}`));
    }
  }
  a.clock = now;
  return 'continue';
}

function describe(c: TpmClockState): string {
  return `clock=${c.clock} resetCount=${c.resetCount} restartCount=${c.restartCount}`;
}
