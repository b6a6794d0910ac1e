import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { adminIdentityFromCertificate, normalizeSerial, PkiError } from '../../pki/index.js';
import type { Store } from '../../store/index.js';
import type { Role } from '../roles.js';

/** Who is calling: an admin credential the fleet CA issued and the store knows, unrevoked. */
export interface AdminPrincipal {
  readonly name: string;
  readonly role: Role;
  readonly serial: string;
}

export type Authentication = { readonly ok: true; readonly principal: AdminPrincipal } | { readonly ok: false; readonly reason: string };

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** What the certificate alone says; cached per TLS connection (it cannot change within one). */
type CertificateVerdict =
  | { readonly ok: true; readonly name: string; readonly role: Role; readonly serial: string; readonly notBefore: number; readonly notAfter: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Authenticates admin API requests from the TLS client certificate. The
 * listener requests a certificate but lets the handshake finish without one
 * (health checks need none), so every decision is made here, per request:
 *
 * 1. a certificate was presented, OpenSSL verified its chain to the fleet CA
 *    (the listener's only trust anchor) and its validity dates, and the CA's
 *    signature verifies here too (a second opinion, as in the broker);
 * 2. it is for clientAuth and names exactly one admin and one role in its
 *    SAN URIs, and no device (a device certificate is not an admin);
 * 3. its serial is recorded in the store as that admin with that role, not
 *    revoked, and it has not expired: looked up on every request, so a
 *    revocation takes effect on the next request, even on an open connection.
 */
export class AdminAuthenticator {
  readonly #verdicts = new WeakMap<TLSSocket, CertificateVerdict>();

  constructor(
    private readonly ca: X509Certificate,
    private readonly store: Store,
  ) {}

  async authenticate(socket: TLSSocket, now = Date.now()): Promise<Authentication> {
    let verdict = this.#verdicts.get(socket);
    if (verdict === undefined) {
      verdict = this.#judge(socket);
      this.#verdicts.set(socket, verdict);
    }
    if (!verdict.ok) return verdict;
    if (now < verdict.notBefore || now >= verdict.notAfter) return { ok: false, reason: 'the admin certificate has expired or is not yet valid' };
    const record = await this.store.getAdminCredential(verdict.serial);
    if (record === null) return { ok: false, reason: `admin certificate ${verdict.serial} was not issued by this server` };
    if (record.revokedAt !== null) return { ok: false, reason: `admin certificate ${verdict.serial} (${record.name}) is revoked` };
    if (record.name !== verdict.name || record.role !== verdict.role) {
      return { ok: false, reason: `admin certificate ${verdict.serial} does not match its record` };
    }
    return { ok: true, principal: { name: verdict.name, role: verdict.role, serial: verdict.serial } };
  }

  #judge(socket: TLSSocket): CertificateVerdict {
    const peer = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
    if (peer === undefined) return { ok: false, reason: 'no client certificate: the admin API needs an admin credential (vigil-server admin issue)' };
    if (!socket.authorized) {
      return { ok: false, reason: `client certificate refused: ${String(socket.authorizationError ?? 'not issued by the fleet CA')}` };
    }
    if (!(peer.checkIssued(this.ca) && peer.verify(this.ca.publicKey))) return { ok: false, reason: 'client certificate not issued by the fleet CA' };
    if (!(peer.keyUsage ?? []).includes(CLIENT_AUTH_OID)) return { ok: false, reason: 'client certificate without extKeyUsage clientAuth' };
    let identity: { name: string; role: Role };
    try {
      identity = adminIdentityFromCertificate(peer);
    } catch (err) {
      if (err instanceof PkiError) return { ok: false, reason: `not an admin certificate: ${err.message}` };
      throw err;
    }
    const serial = normalizeSerial(peer.serialNumber);
    if (serial === undefined) return { ok: false, reason: 'unreadable certificate serial' };
    return { ok: true, ...identity, serial, notBefore: Date.parse(peer.validFrom), notAfter: Date.parse(peer.validTo) };
  }
}
