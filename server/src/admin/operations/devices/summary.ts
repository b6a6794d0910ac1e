import type { AttestationRecord, Device, Store } from '../../../store/index.js';
import { isoTime } from '../format.js';
import type { AttestationEntry, DeviceState, DeviceSummary } from './schemas.js';

export function deviceState(device: Pick<Device, 'revoked' | 'status'>): DeviceState {
  return device.revoked ? 'revoked' : device.status;
}

/** One row of `devices list`: the device, the policy that applies to it and its latest attestation. */
export async function deviceSummary(store: Store, device: Device): Promise<DeviceSummary> {
  const [latest, policy] = await Promise.all([store.listAttestations(device.id, 1), store.resolvePolicy(device.id)]);
  return {
    id: device.id,
    state: deviceState(device),
    status: device.status,
    revoked: device.revoked,
    group: device.group,
    policy: policy === null ? null : `${policy.policy.name}@${policy.policy.version}`,
    enrolledAt: isoTime(device.createdAt),
    lastVerifiedAt: isoTime(device.lastVerifiedAt),
    lastAttestationAt: latest[0] === undefined ? null : isoTime(latest[0].receivedAt),
  };
}

export function attestationEntry(a: AttestationRecord): AttestationEntry {
  return {
    id: a.id,
    receivedAt: isoTime(a.receivedAt),
    status: a.status,
    challengeId: a.challengeId,
    evidenceDigest: a.evidenceDigest,
    policy: a.policy === null ? null : `${a.policy.name}@${a.policy.version}`,
    error: a.error === null ? null : { code: a.error.code, message: a.error.message },
    reasons: a.reasons.map((r) => ({
      submodule: r.submodule,
      code: r.code,
      message: r.message,
      ...(r.where === undefined ? {} : { where: { ...r.where } }),
    })),
  };
}
