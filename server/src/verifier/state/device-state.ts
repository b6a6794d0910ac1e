import { TpmPublicKeyError, verificationKey, type VerificationKey } from '@vigil/tpm2-ts';
import type { AttestingDevice, DeviceStanding, LogPosition, NewDeviceLogState, Store } from '../../store/index.js';
import { Lru } from './lru.js';

/**
 * What the verifier keeps in memory per device so the hot path does not
 * re-read or recompute it: the device's enrollment record (per AK Name: the
 * AK does not change while its Name stays), the AK made ready for
 * signature checks (per AK Name, so a re-enrolled device's new AK replaces
 * it), and the device's log state (measurement-log offsets and replayed PCR
 * values of the current boot). The store is the source of truth: what can
 * change (revoked, status, group, clock, facts, log position) is read from it for
 * every challenge and every piece of evidence (`Store.getDeviceStanding`, a
 * few scalars); the log state is loaded on first use, written back with every
 * verdict, and reloaded when the store's position or the evidence disagrees
 * with it (another verifier process may have moved it on).
 */
export interface DeviceState {
  readonly deviceId: string;
  /** The device as last read whole (less its EK); its mutable fields are replaced by each standing read. */
  device: AttestingDevice | undefined;
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
      s = { deviceId, device: undefined, akName: undefined, akKey: undefined, log: undefined };
      this.#states.set(deviceId, s);
    }
    return s;
  }

  /**
   * The device as the store has it now, and where its stored log state
   * stands: one small read of its standing (`Store.getDeviceStanding`) over
   * the enrollment record kept per AK Name. Null for an unknown device.
   */
  async current(state: DeviceState): Promise<{ readonly device: AttestingDevice; readonly log: LogPosition | null } | null> {
    const standing = await this.store.getDeviceStanding(state.deviceId);
    if (standing === null) return null;
    // The usual case (the AK held is the current one) without a further await.
    const device = this.#held(state, standing) ?? (await this.device(state, standing));
    return device === null ? null : { device, log: standing.log };
  }

  /**
   * `standing` over the enrollment record kept per AK Name, read whole only
   * when the AK is new to this process (first use, or re-enrolled). Null if
   * the device disappeared.
   */
  async device(state: DeviceState, standing: DeviceStanding): Promise<AttestingDevice | null> {
    const held = this.#held(state, standing);
    if (held !== undefined) return held;
    const read = await this.store.getDevice(state.deviceId);
    if (read === null) return null;
    const { ekPublic: _ekPublic, ekCertificate: _ekCertificate, ...attesting } = read;
    state.device = attesting;
    // Read after the standing: the whole row is the newer of the two.
    return read.akName !== standing.akName ? attesting : withStanding(attesting, standing);
  }

  /** `standing` over the record held, if the AK held is the current one; else undefined (to be read). */
  #held(state: DeviceState, standing: DeviceStanding): AttestingDevice | undefined {
    const base = state.device;
    return base !== undefined && base.akName === standing.akName ? withStanding(base, standing) : undefined;
  }

  /**
   * The log state, reloaded from the store unless the one held here stands
   * where the store's does (same boot, boot log and entry counts): the
   * offsets of a challenge must be the store's, whichever process moved them.
   */
  async logStateAt(state: DeviceState, position: LogPosition | null): Promise<NewDeviceLogState> {
    const held = state.log;
    if (held !== undefined && samePosition(held, position)) return held;
    return this.reloadLogState(state);
  }

  /** The device's AK as a verification key, converted once per AK. Throws TpmPublicKeyError for an unusable key. */
  akKey(state: DeviceState, device: AttestingDevice): VerificationKey {
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

/**
 * The device held in memory with what may have changed since taken from its
 * standing. Spelled out rather than spread (`{ ...base, ...rest }`): copying
 * with a rest pattern takes V8's slow path, and this runs twice a verdict.
 */
function withStanding(base: AttestingDevice, standing: DeviceStanding): AttestingDevice {
  return {
    id: base.id,
    ekName: base.ekName,
    akPublic: base.akPublic,
    createdAt: base.createdAt,
    akName: standing.akName,
    facts: standing.facts,
    status: standing.status,
    revoked: standing.revoked,
    reenrollAllowed: standing.reenrollAllowed,
    group: standing.group,
    lastVerifiedAt: standing.lastVerifiedAt,
    tpmClock: standing.tpmClock,
    updatedAt: standing.updatedAt,
  };
}

function samePosition(held: NewDeviceLogState, position: LogPosition | null): boolean {
  if (position === null) return held.resetCount === null && held.bootLogDigest === null && held.ima.entries === 0 && held.model.entries === 0;
  return (
    held.resetCount === position.resetCount &&
    held.bootLogDigest === position.bootLogDigest &&
    held.ima.entries === position.imaEntries &&
    held.model.entries === position.modelEntries
  );
}

export { TpmPublicKeyError };
