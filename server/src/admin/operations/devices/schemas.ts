import Type, { type Static } from 'typebox';
import { EAR_STATUSES } from '@vigil/protocol/core';
import { IsoTime, Nullable, Text } from '../schemas.js';

export const DeviceStatus = Type.Enum(EAR_STATUSES, { description: 'overall status of the latest appraised attestation' });

/** What `devices list` shows: the device's standing, the status or `revoked`. */
export const DEVICE_STATES = [...EAR_STATUSES, 'revoked'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];
export const DeviceState = Type.Enum(DEVICE_STATES, { description: '`revoked`, else the status of the latest appraisal (`none` before the first)' });

export const DeviceSummary = Type.Object(
  {
    id: Type.String(),
    state: DeviceState,
    status: DeviceStatus,
    revoked: Type.Boolean(),
    group: Nullable(Type.String()),
    /** `name@version` of the policy that applies, or null. */
    policy: Nullable(Type.String({ description: 'name@version of the policy that applies (device, group or fleet assignment)' })),
    enrolledAt: IsoTime,
    lastVerifiedAt: Nullable(IsoTime),
    lastAttestationAt: Nullable(IsoTime),
  },
  { additionalProperties: false },
);
export type DeviceSummary = Static<typeof DeviceSummary>;

export const AttestationReason = Type.Object(
  {
    submodule: Type.String(),
    code: Type.String(),
    message: Type.String(),
    where: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
  },
  { additionalProperties: false },
);

export const AttestationEntry = Type.Object(
  {
    id: Type.Integer(),
    receivedAt: IsoTime,
    status: DeviceStatus,
    challengeId: Nullable(Type.String()),
    evidenceDigest: Type.String({ description: 'SHA-256 of the evidence message as received, hex' }),
    policy: Nullable(Type.String({ description: 'name@version' })),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false })),
    reasons: Type.Array(AttestationReason),
  },
  { additionalProperties: false },
);
export type AttestationEntry = Static<typeof AttestationEntry>;

export const StateFilter = Type.Optional(Type.Enum(DEVICE_STATES, { description: 'only devices in this state' }));
export const GroupFilter = Type.Optional(Text(63, { description: 'only devices of this group' }));
