import { TpmPublicKeyError, verificationKey, type VerificationKey } from '@vigil/tpm2-ts';
import type { Device, NewDeviceLogState, Store } from '../../store/index.js';
import { Lru } from './lru.js';

/**
 * What the verifier keeps in memory per device so the hot path does not
 * recompute it: the AK made ready for signature checks (per AK Name, so a
 * re-enrolled device's new AK replaces it), and the device's log state
 * (measurement-log offsets and replayed PCR values of the current boot).
 * The store is the source of truth: the log state is loaded from it on
 * first use, written back with every verdict, and reloaded when evidence
 * disagrees with it (another verifier process may have moved it on).
 */
export interface DeviceState {
  readonly deviceId: string;
  akName: string | undefined;
  akKey: VerificationKey | undefined;
  log: NewDeviceLogState | undefined;
}

export function emptyLogState(deviceId: string): NewDeviceLogState {
  return {
    deviceId,
    resetCount: null,
    bootLogDigest: null,
    ima: { entries: 0, pcrs: {} },
    model: { entries: 0, pcrs: {}, measurements: [] },
    verifiedPcrs: null,
  };
}

export class DeviceStates {
  readonly #states: Lru<string, DeviceState>;

  constructor(
    private readonly store: Store,
    capacity = 200_000,
  ) {
    this.#states = new Lru(capacity);
  }

  get(deviceId: string): DeviceState {
    let s = this.#states.get(deviceId);
    if (s === undefined) {
      s = { deviceId, akName: undefined, akKey: undefined, log: undefined };
      this.#states.set(deviceId, s);
    }
    return s;
  }

  /** The device's AK as a verification key, converted once per AK. Throws TpmPublicKeyError for an unusable key. */
  akKey(state: DeviceState, device: Device): VerificationKey {
    if (state.akKey === undefined || state.akName !== device.akName) {
      state.akKey = verificationKey(device.akPublic);
      state.akName = device.akName;
    }
    return state.akKey;
  }

  /** The log state, from memory or the store. */
  async logState(state: DeviceState): Promise<NewDeviceLogState> {
    if (state.log === undefined) state.log = (await this.store.getDeviceLogState(state.deviceId)) ?? emptyLogState(state.deviceId);
    return state.log;
  }

  /** Re-reads the log state from the store (another process may have written it). */
  async reloadLogState(state: DeviceState): Promise<NewDeviceLogState> {
    state.log = undefined;
    return this.logState(state);
  }

  /** Drops everything held for a device (revoked, re-enrolled). */
  forget(deviceId: string): void {
    this.#states.delete(deviceId);
  }
}

export { TpmPublicKeyError };
