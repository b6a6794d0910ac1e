import { ADMIN_ROLES, type AdminCertificateRole } from '../pki/admin-roles.js';

/**
 * Admin roles, weakest first (the list the admin certificate carries, see
 * pki/admin-roles.ts). Each role may do everything the roles before
 * it may: a `viewer` reads; an `operator` also acts on devices (attest now,
 * revoke, reinstate); an `admin` also changes what the fleet trusts and who
 * may administer it (policies, models, enrollment tokens, admin credentials).
 */
export const ROLES = ADMIN_ROLES;

export type Role = AdminCertificateRole;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Does a credential holding `held` satisfy an operation that needs `needed`? */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
