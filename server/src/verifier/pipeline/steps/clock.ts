import { reason } from '../../../policy/appraise/reason.js';
import type { TpmClockState } from '../../../store/index.js';
import type { Appraisal, StepResult } from '../appraisal.js';

/**
 * Step 8, the TPM clock (TPMS_CLOCK_INFO, Part 2 §10.11.1; Part 1 §36)
 * against the last verified quote:
 * - resetCount up: a TPM Reset, i.e. a reboot. Recorded (a `tpm-reboot`
 *   note), not a failure; the measurement logs restart with the boot.
 * - restartCount up with the same resetCount: a TPM Restart/Resume (e.g.
 *   hibernation), recorded.
 * - resetCount down, or restartCount down within a boot: the TPM's state was
 *   rolled back (restored from a copy): contraindicated.
 * - clock went back without a reset: contraindicated. `clock` only stops
 *   (and may lose what was not yet saved) across a power loss, which is
 *   always a TPM Reset.
 * Only a signed quote gets here, so these values are the TPM's own.
 */
export function clockStep(a: Appraisal): StepResult {
  const info = a.attest!.clockInfo;
  const now: TpmClockState = { clock: info.clock, resetCount: info.resetCount, restartCount: info.restartCount };
  const last = a.device!.tpmClock;
  const fail = (code: string, message: string): StepResult => {
    a.v.fail('identity', 'contraindicated', reason(code, message, { expected: describe(last!), actual: describe(now) }));
    return 'stop';
  };
  if (last !== null) {
    if (now.resetCount < last.resetCount) return fail('reset-count-decreased', `resetCount went back from ${last.resetCount} to ${now.resetCount}: the TPM state was rolled back`);
    if (now.resetCount === last.resetCount) {
      if (now.restartCount < last.restartCount) {
        return fail('restart-count-decreased', `restartCount went back from ${last.restartCount} to ${now.restartCount} within one boot`);
      }
      if (now.clock < last.clock) return fail('clock-went-back', `the TPM clock went back from ${last.clock} to ${now.clock} ms without a reset`);
      if (now.restartCount > last.restartCount) a.v.note('identity', reason('tpm-restart', `TPM restart (resume): restartCount ${last.restartCount} → ${now.restartCount}`));
    } else {
      a.rebooted = true;
      a.v.note('identity', reason('tpm-reboot', `the device rebooted: resetCount ${last.resetCount} → ${now.resetCount}`));
    }
  }
  a.clock = now;
  return 'continue';
}

function describe(c: TpmClockState): string {
  return `clock=${c.clock} resetCount=${c.resetCount} restartCount=${c.restartCount}`;
}
