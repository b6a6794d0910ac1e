import type { PcrValues } from '@vigil/protocol/core';
import type { EpochMs } from './common.js';

/**
 * How far the verifier has verified one of a device's measurement logs
 * (IMA, model log) in the current boot: the number of entries replayed and
 * matched to a quote, and the PCR values they replay to. The next challenge
 * asks only for entries after `entries`; replay continues from `pcrs`.
 */
export interface MeasurementLogState {
  readonly entries: number;
  /** PCR values after those entries, by bank then PCR index, lowercase hex. */
  readonly pcrs: PcrValues;
}

/** A model file measurement of the current boot, as the model log recorded it. */
export interface ModelMeasurementRecord {
  /** Index of the entry in the model log. */
  readonly entry: number;
  readonly path: string;
  /** SHA-256 of the file, lowercase hex. */
  readonly digest: string;
}

/**
 * The verifier's memory of a device's current boot, kept beside the device
 * so that any verifier process can continue where another left off.
 */
export interface DeviceLogState {
  readonly deviceId: string;
  /** The TPM resetCount (boot) the logs belong to; a different one means the device rebooted and the logs restart. */
  readonly resetCount: number | null;
  /** SHA-256 of the boot event log the device last sent for this boot. */
  readonly bootLogDigest: string | null;
  readonly ima: MeasurementLogState;
  readonly model: MeasurementLogState & { readonly measurements: readonly ModelMeasurementRecord[] };
  /** The PCR values of the last quote that passed verification (golden values are captured from these). */
  readonly verifiedPcrs: PcrValues | null;
  readonly updatedAt: EpochMs;
}

/** What the verifier writes (the store stamps `updatedAt`). */
export type NewDeviceLogState = Omit<DeviceLogState, 'updatedAt'>;
