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

/**
 * A device as the verifier holds it in memory for every connected device:
 * all of `Device` but the EK material (its public area and certificate,
 * ~1.3 KB a device), which only enrollment looks at.
 */
export type AttestingDevice = Omit<Device, 'ekPublic' | 'ekCertificate'>;

/**
 * What may change about a device after it enrolled, what the verifier
 * decides by (its facts: the PCR banks to ask for), and where the verifier's
 * log state for it stands: a few small columns, read for every challenge and
 * every piece of evidence. The rest of `Device` (EK, AK) is fixed for as long
 * as its AK is, so the verifier keeps it in memory per AK Name and completes
 * it with this (`DeviceStates.device`).
 */
export type DeviceStanding = Pick<
  Device,
  'id' | 'akName' | 'facts' | 'status' | 'revoked' | 'reenrollAllowed' | 'group' | 'lastVerifiedAt' | 'tpmClock' | 'updatedAt'
> & {
  /** The stored log state's position (what a challenge's offsets come from); null when none is stored. */
  readonly log: LogPosition | null;
};

/** Where a device's stored log state stands: its boot, its boot log, how many IMA and model entries are verified. */
export interface LogPosition {
  readonly resetCount: number | null;
  readonly bootLogDigest: string | null;
  readonly imaEntries: number;
  readonly modelEntries: number;
}

/**
 * Which devices `Store.listDevices` returns, always in id order (byte
 * order: SQLite's `ORDER BY id`, PostgreSQL's `COLLATE "C"`). Every field
 * narrows the listing; none set lists the whole fleet.
 */
export interface DeviceFilter {
  readonly status?: DeviceStatus;
  readonly revoked?: boolean;
  readonly group?: string;
  /**
   * Only devices silent since this time: their last verification, or their
   * creation when they have never been verified, is at or before it.
   * (Reinstatement is not in the row: a caller that counts from it, like
   * the staleness monitor, still judges each device listed.) No index
   * serves it: `lastVerifiedAt` changes with every verdict, and an index
   * on it would be one more write on the verifier's hot path.
   */
  readonly silentSince?: EpochMs;
  /** Keyset paging: only devices whose id sorts after this one (the last id of the previous page). */
  readonly afterId?: string;
  /** At most this many devices (a positive integer, at most `DEVICE_LIST_MAX_LIMIT`); with `afterId`, one page. */
  readonly limit?: number;
}

/** The largest `DeviceFilter.limit` a store accepts. */
export const DEVICE_LIST_MAX_LIMIT = 10_000;

/** A change of a device's status that no attestation made (e.g. staleness). */
export interface SetDeviceStatusInput {
  readonly deviceId: string;
  readonly status: DeviceStatus;
  /** Why, for the audit entry (e.g. `stale`). */
  readonly reason: string;
  readonly actor: Actor;
  /** Only if the device has not been verified since the caller read it (`IfLastVerifiedAt`). */
  readonly ifLastVerifiedAt?: IfLastVerifiedAt;
}

/**
 * The device's `lastVerifiedAt` as the caller read it (null: never
 * verified). A change decided on that reading, such as the staleness
 * monitor's "no verified attestation for too long", is made only if the
 * device still stands there when the change commits: a verdict recorded
 * in between (by this process or another replica) wins, and the change is
 * not made. Checked inside the change's own transaction.
 */
export type IfLastVerifiedAt = EpochMs | null;
