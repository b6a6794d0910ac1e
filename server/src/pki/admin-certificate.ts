import { isDeviceId } from '@vigil/protocol/core';
import { ADMIN_ROLES, type AdminCertificateRole } from './admin-roles.js';
import { sanUris, toX509Certificate, type CertificateInput } from './device-identity.js';
import { PkiError } from './errors.js';
import type { IssuedCertificate } from './issued-certificate.js';
import type { IssuerContext } from './issuer-context.js';
import type { PublicKeyInput } from './keys.js';
import { issueLeafCertificate } from './leaf-certificate.js';
import { days } from './validity.js';

/**
 * An admin client certificate names its holder in a SAN URI
 * `urn:vigil:admin:<name>` and carries its role in a second SAN URI
 * `urn:vigil:role:<role>` (RFC 5280 §4.2.1.6), both read structurally like
 * the device URI. It has no `urn:vigil:device:` URI, so the broker refuses it
 * (`no-device-identity`); the admin API accepts it only if its serial is
 * recorded in the store with the same name and role, unrevoked.
 */
export const ADMIN_URI_PREFIX = 'urn:vigil:admin:';
export const ROLE_URI_PREFIX = 'urn:vigil:role:';

export { ADMIN_ROLES, type AdminCertificateRole };

/** Admin credentials outlive device certificates but not by years: 10 years at most, 1 year by default. */
export const MAX_ADMIN_CERTIFICATE_VALIDITY_MS = days(3650);
export const DEFAULT_ADMIN_CERTIFICATE_VALIDITY_MS = days(365);

export interface AdminCertificateRequest {
  /** The admin's key (RSA ≥ 2048; generated where the credential will live, never sent anywhere). */
  readonly publicKey: PublicKeyInput;
  /** Device id syntax: `^[a-z0-9][a-z0-9._-]{0,62}$`. */
  readonly name: string;
  readonly role: AdminCertificateRole;
  readonly validityMs?: number;
  readonly now?: Date;
}

/** clientAuth only, so the certificate cannot serve TLS; CN = name for humans, the SAN URIs are authoritative. */
export function issueAdminCertificateWith(issuer: IssuerContext, request: AdminCertificateRequest): IssuedCertificate {
  const name: string = request.name;
  if (!isDeviceId(name)) throw new PkiError('invalid-option', `admin name ${JSON.stringify(String(name).slice(0, 80))} must match ^[a-z0-9][a-z0-9._-]{0,62}$`);
  if (!(ADMIN_ROLES as readonly string[]).includes(request.role)) throw new PkiError('invalid-option', `unknown admin role ${JSON.stringify(request.role)}`);
  const validityMs = request.validityMs ?? DEFAULT_ADMIN_CERTIFICATE_VALIDITY_MS;
  if (validityMs > MAX_ADMIN_CERTIFICATE_VALIDITY_MS) throw new PkiError('invalid-option', 'admin certificate validity must not exceed 3650 days');
  return issueLeafCertificate(
    issuer,
    {
      subject: [
        { shortName: 'CN', value: request.name },
        { shortName: 'O', value: 'Vigil admin' },
      ],
      extendedKeyUsage: 'clientAuth',
      subjectAltNames: { uri: [ADMIN_URI_PREFIX + request.name, ROLE_URI_PREFIX + request.role] },
    },
    { publicKey: request.publicKey, validityMs, now: request.now },
  );
}

/**
 * The admin name and role a certificate claims, from its SAN URIs: exactly
 * one of each, and no device URI. Says nothing about the issuer or
 * revocation: the admin API checks the chain and the store first.
 *
 * @throws PkiError 'invalid-certificate' | 'no-admin-identity'
 */
export function adminIdentityFromCertificate(cert: CertificateInput): { name: string; role: AdminCertificateRole } {
  const uris = sanUris(toX509Certificate(cert), 'no-admin-identity');
  const names = uris.filter((u) => u.startsWith(ADMIN_URI_PREFIX)).map((u) => u.slice(ADMIN_URI_PREFIX.length));
  const roles = uris.filter((u) => u.startsWith(ROLE_URI_PREFIX)).map((u) => u.slice(ROLE_URI_PREFIX.length));
  if (uris.some((u) => u.startsWith('urn:vigil:device:'))) throw new PkiError('no-admin-identity', 'a device certificate is not an admin credential');
  if (names.length !== 1) throw new PkiError('no-admin-identity', `certificate has ${names.length} ${ADMIN_URI_PREFIX}<name> SAN URIs; exactly one is required`);
  if (roles.length !== 1) throw new PkiError('no-admin-identity', `certificate has ${roles.length} ${ROLE_URI_PREFIX}<role> SAN URIs; exactly one is required`);
  const name = names[0]!;
  const role = roles[0]!;
  if (!isDeviceId(name)) throw new PkiError('no-admin-identity', `admin name ${JSON.stringify(String(name).slice(0, 80))} is not valid`);
  if (!(ADMIN_ROLES as readonly string[]).includes(role)) throw new PkiError('no-admin-identity', `unknown admin role ${JSON.stringify(role.slice(0, 40))}`);
  return { name, role: role as AdminCertificateRole };
}
