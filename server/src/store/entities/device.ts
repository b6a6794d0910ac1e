import type { DeviceFacts, EarStatus } from '@vigil/protocol/core';
import type { Actor, EpochMs } from './common.js';

/** A device's standing: the overall status of its latest appraised attestation (`none` before the first). */
export type DeviceStatus = EarStatus;

/**
 * The TPM's clock state as last seen in a quote (TPMS_CLOCK_INFO, TPM 2.0
 * Part 2 §10.11.1). `clock` is a UINT64 of milliseconds, hence a bigint.
 * Kept so the verifier can tell a reboot (resetCount/restartCount up) from a
 * rollback (any of them down).
 */
export interface TpmClockState {
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
}

export interface Device {
  readonly id: string;
  /** EK TPM2B_PUBLIC as received at enrollment. */
  readonly ekPublic: Uint8Array;
  /** EK Name (nameAlg || digest of TPMT_PUBLIC), lowercase hex. Unique: one device per TPM. */
  readonly ekName: string;
  /** EK certificate DER, if the TPM had one. */
  readonly ekCertificate: Uint8Array | null;
  /** AK TPM2B_PUBLIC: the key every quote must be signed with. */
  readonly akPublic: Uint8Array;
  /** AK Name, lowercase hex. */
  readonly akName: string;
  /** What the device reported about itself at enrollment (informational). */
  readonly facts: DeviceFacts;
  readonly status: DeviceStatus;
  readonly revoked: boolean;
  /** An admin allowed this EK to enroll again (set by `allowReenrollment` and by reinstatement). */
  readonly reenrollAllowed: boolean;
  /** Fleet group, for policy assignment. */
  readonly group: string | null;
  /** When evidence from this device last passed verification. */
  readonly lastVerifiedAt: EpochMs | null;
  readonly tpmClock: TpmClockState | null;
  readonly createdAt: EpochMs;
  readonly updatedAt: EpochMs;
}

export interface DeviceFilter {
  readonly status?: DeviceStatus;
  readonly revoked?: boolean;
  readonly group?: string;
}

/** A change of a device's status that no attestation made (e.g. staleness). */
export interface SetDeviceStatusInput {
  readonly deviceId: string;
  readonly status: DeviceStatus;
  /** Why, for the audit entry (e.g. `stale`). */
  readonly reason: string;
  readonly actor: Actor;
}
