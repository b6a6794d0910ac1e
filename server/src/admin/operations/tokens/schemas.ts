import Type, { type Static } from 'typebox';
import type { EnrollmentTokenRecord } from '../../../store/index.js';
import { isoTime } from '../format.js';
import { IsoTime, Nullable } from '../schemas.js';

export const TOKEN_STATES = ['active', 'expired', 'used-up', 'revoked'] as const;
export type TokenState = (typeof TOKEN_STATES)[number];

/** A token as listed: never its value (the store has only its hash). */
export const TokenInfo = Type.Object(
  {
    id: Type.Integer(),
    state: Type.Enum(TOKEN_STATES),
    label: Nullable(Type.String()),
    uses: Type.Integer(),
    maxUses: Type.Integer(),
    deviceName: Nullable(Type.String()),
    createdAt: IsoTime,
    expiresAt: IsoTime,
    revokedAt: Nullable(IsoTime),
  },
  { additionalProperties: false },
);
export type TokenInfo = Static<typeof TokenInfo>;

export function tokenState(t: EnrollmentTokenRecord, now: number): TokenState {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt <= now) return 'expired';
  if (t.uses >= t.maxUses) return 'used-up';
  return 'active';
}

export function tokenInfo(t: EnrollmentTokenRecord, now: number): TokenInfo {
  return {
    id: t.id,
    state: tokenState(t, now),
    label: t.label,
    uses: t.uses,
    maxUses: t.maxUses,
    deviceName: t.deviceName,
    createdAt: isoTime(t.createdAt),
    expiresAt: isoTime(t.expiresAt),
    revokedAt: isoTime(t.revokedAt),
  };
}
