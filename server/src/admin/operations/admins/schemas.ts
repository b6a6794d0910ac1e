import Type, { type Static } from 'typebox';
import type { AdminCredentialRecord } from '../../../store/index.js';
import { ROLES } from '../../roles.js';
import { isoTime } from '../format.js';
import { IsoTime, Nullable } from '../schemas.js';

export const RoleSchema = Type.Enum(ROLES, { description: 'viewer reads; operator also revokes, reinstates and attests; admin also changes policies, models, tokens and admin credentials' });

export const CREDENTIAL_STATES = ['active', 'expired', 'revoked'] as const;

export const AdminCredentialInfo = Type.Object(
  {
    serial: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    state: Type.Enum(CREDENTIAL_STATES),
    notBefore: IsoTime,
    notAfter: IsoTime,
    issuedAt: IsoTime,
    issuedBy: Type.String(),
    revokedAt: Nullable(IsoTime),
    revokedBy: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type AdminCredentialInfo = Static<typeof AdminCredentialInfo>;

export function adminCredentialInfo(c: AdminCredentialRecord, now: number): AdminCredentialInfo {
  return {
    serial: c.serial,
    name: c.name,
    role: c.role,
    state: c.revokedAt !== null ? 'revoked' : c.notAfter <= now ? 'expired' : 'active',
    notBefore: isoTime(c.notBefore),
    notAfter: isoTime(c.notAfter),
    issuedAt: isoTime(c.issuedAt),
    issuedBy: c.issuedBy,
    revokedAt: isoTime(c.revokedAt),
    revokedBy: c.revokedBy,
  };
}
