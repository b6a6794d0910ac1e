import type { AttestationChallenge, Evidence } from '@vigil/protocol';
import type { CommandRunner, Tpm } from '@vigil/tpm2-ts';
import type { EnrolledAk } from '../state/index.js';
import type { LoggedMeasurements } from './measured-files.js';
import type { TpmCounters } from './tpm-link.js';

/** What a TPM operation of the daemon gets: the open TPM, the enrolled AK under its EK, the current counters. */
export interface TpmContext {
  readonly tpm: Tpm;
  /** A runner that always reaches the current connection (for objects that keep one across reconnects); use only within this call. */
  readonly runner: CommandRunner;
  readonly keys: EnrolledAk;
  readonly counters: TpmCounters;
}

/**
 * The attestation work the daemon schedules: measuring model files into the
 * model PCR and its log, and building evidence for a challenge. The daemon
 * decides when (start, file changes, TPM resets, challenges) and runs each
 * call alone on the TPM; `attestation-adapter.ts` does the work with
 * `agent/src/attestation`.
 */
export interface Attester {
  /**
   * Hashes `files`, extends each new measurement into the model PCR and
   * appends it to the model measurement log. `wholeRoots` are configured
   * folders all of whose files are in `files` (hashed as one, in parallel).
   * Files that could not be measured are returned (the watcher tries them
   * again), with how many new measurements were logged (a file whose
   * digest did not change since its last measurement in this TPM boot adds none).
   */
  measure(ctx: TpmContext, request: MeasureRequest): Promise<{ readonly failed: readonly string[]; readonly added: number }>;
  /** What the model measurement log holds for the TPM's current boot (each file's latest digest). */
  logged(ctx: TpmContext): Promise<LoggedMeasurements>;
  /**
   * After the TPM's restartCount moved past `since` (resetCount unchanged):
   * a TPM Restart clears the model PCR, a Resume restores it, and only the
   * PCR tells which. True when the model log started over for it, so every
   * model file must be measured again.
   */
  followRestart(ctx: TpmContext, since: number): Promise<boolean>;
  /** The evidence for `challenge`: quote, PCR values, boot event log, IMA and model log since the server's offsets. */
  evidence(ctx: TpmContext, challenge: AttestationChallenge): Promise<Evidence>;
}

export interface MeasureRequest {
  /** Changed model files (absolute paths). */
  readonly files: readonly string[];
  /** Configured folders every file of which is in `files`. */
  readonly wholeRoots: readonly string[];
}
