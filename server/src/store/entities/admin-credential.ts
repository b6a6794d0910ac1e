import type { Actor, EpochMs } from './common.js';

/** What an admin credential lets its holder do (see server/src/admin/roles.ts). */
export type AdminRole = 'viewer' | 'operator' | 'admin';

/**
 * An admin client certificate the fleet CA issued: the admin API accepts a
 * certificate only if its serial is recorded here, unrevoked, with the same
 * name and role as the certificate carries.
 */
export interface AdminCredentialRecord {
  /** Canonical lowercase hex serial (see `normalizeSerial`). */
  readonly serial: string;
  /** The name in its `urn:vigil:admin:<name>` SAN URI; the audit log's actor is `admin:<name>`. */
  readonly name: string;
  readonly role: AdminRole;
  readonly notBefore: EpochMs;
  readonly notAfter: EpochMs;
  readonly issuedAt: EpochMs;
  readonly issuedBy: Actor;
  readonly revokedAt: EpochMs | null;
  readonly revokedBy: Actor | null;
}

export interface NewAdminCredential {
  readonly serial: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly notBefore: EpochMs;
  readonly notAfter: EpochMs;
  readonly actor: Actor;
}

/** Revoke one credential by serial, or every unrevoked credential of a name. */
export interface RevokeAdminCredentialsInput {
  readonly name: string;
  /** Only this one of the name's credentials. */
  readonly serial?: string;
  readonly actor: Actor;
}
