/**
 * The topic names the broker's access rules are built from.
 *
 * TODO(protocol): replace with `topics` from `@vigil/protocol` once that
 * package exports it; these must stay identical to the protocol's table
 * (`../shared/design.md`, Protocol).
 */
const ROOT = 'vigil/v1';

export const brokerTopics = {
  enrollRequest: (bootstrapId: string) => `${ROOT}/enroll/${bootstrapId}/request`,
  enrollChallenge: (bootstrapId: string) => `${ROOT}/enroll/${bootstrapId}/challenge`,
  enrollProof: (bootstrapId: string) => `${ROOT}/enroll/${bootstrapId}/proof`,
  enrollResult: (bootstrapId: string) => `${ROOT}/enroll/${bootstrapId}/result`,
  deviceChallenge: (deviceId: string) => `${ROOT}/devices/${deviceId}/challenge`,
  deviceChallengeRequest: (deviceId: string) => `${ROOT}/devices/${deviceId}/challenge/request`,
  deviceEvidence: (deviceId: string) => `${ROOT}/devices/${deviceId}/evidence`,
  deviceResult: (deviceId: string) => `${ROOT}/devices/${deviceId}/result`,
  fleetRevocations: `${ROOT}/fleet/revocations`,
} as const;
