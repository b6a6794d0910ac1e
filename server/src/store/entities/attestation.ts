import type { AttestationError, Ear, EarStatus, ReasonLocation, Submodule } from '@vigil/protocol/core';
import type { Actor, EpochMs } from './common.js';
import type { DeviceStatus, TpmClockState } from './device.js';
import type { NewDeviceLogState } from './device-log-state.js';

/** One appraisal result, as the verifier pipeline produced it. */
export interface NewAttestation {
  readonly deviceId: string;
  /** The challenge the evidence answered, if it named a known one. */
  readonly challengeId: string | null;
  readonly receivedAt: EpochMs;
  /** Lowercase hex SHA-256 of the evidence payload as received. */
  readonly evidenceDigest: string;
  /** Overall status (`overallStatus(verdict)`, or `none` when there is no verdict). */
  readonly status: EarStatus;
  /** The EAR verdict; null when the evidence could not be appraised at all. */
  readonly verdict: Ear | null;
  /** Why there is no verdict (schema error, unknown device, ...). */
  readonly error: { readonly code: AttestationError; readonly message: string } | null;
  readonly policy: { readonly name: string; readonly version: number } | null;
  /** TPMS_CLOCK_INFO from the quote, if one was parsed. */
  readonly tpmClock: TpmClockState | null;
}

/** A verdict reason flattened out of its submodule, for queries and `device show`. */
export interface AttestationReason {
  readonly submodule: Submodule | 'evidence';
  readonly code: string;
  readonly message: string;
  readonly where?: ReasonLocation;
}

export interface AttestationRecord extends NewAttestation {
  readonly id: number;
  readonly reasons: readonly AttestationReason[];
}

export interface RecordAttestationInput {
  readonly attestation: NewAttestation;
  /**
   * How the device row changes with this attestation; omit to leave it as
   * is (evidence that could not be appraised says nothing about the device).
   */
  readonly device?: {
    readonly status: DeviceStatus;
    /** True if the evidence passed verification: sets lastVerifiedAt to receivedAt. */
    readonly verified: boolean;
    readonly tpmClock?: TpmClockState;
  };
  /** The verifier's log state for the device after this evidence, written in the same transaction. */
  readonly logState?: NewDeviceLogState;
  readonly actor: Actor;
}

export interface RecordAttestationResult {
  readonly attestation: AttestationRecord;
  readonly previousStatus: DeviceStatus;
  /** Sequence number of the audit entry written, if the attestation was security-relevant. */
  readonly auditSeq: number | null;
}

/**
 * `Store.recordAnswer`: the attestation recorded with its challenge's use, or
 * `used` when the use was recorded before (by another verifier process, or
 * before a restart), in which case nothing was written.
 */
export type RecordAnswerResult = RecordAttestationResult | 'used';
