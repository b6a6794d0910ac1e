import type { KeyObject, X509Certificate } from 'node:crypto';
import { bootstrapIdFromSpki } from '@vigil/protocol';
import { deviceIdFromCertificate } from '../pki/device-identity.js';
import { normalizeSerial } from '../pki/serial.js';
import type { ClientIdentity } from './identity.js';
import type { RefusalReason } from './refusal.js';
import type { RevocationList } from './revocation-list.js';

/** The fleet CA as the broker trusts it: the certificate and its public key, nothing else. */
export interface TrustAnchor {
  readonly certificate: X509Certificate;
  readonly publicKey: KeyObject;
}

export type Classification =
  | { readonly ok: true; readonly identity: ClientIdentity }
  | { readonly ok: false; readonly reason: RefusalReason; readonly detail: string };

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/**
 * Decides who a TLS client is from its certificate alone.
 *
 * The TLS server runs with `rejectUnauthorized: false` so that self-signed
 * bootstrap certificates get through the handshake (OpenSSL still checks the
 * client's CertificateVerify, i.e. possession of the key). Everything else is
 * checked here, in this order:
 *
 * 1. no certificate → refused;
 * 2. issued by the fleet CA (issuer name/AKI match and the CA's signature
 *    verifies) → must be within its validity, carry clientAuth and exactly one
 *    device SAN URI, and not be revoked by serial or device id; OpenSSL's own
 *    chain verdict (`opensslAuthorized`) must agree, a second opinion;
 * 3. self-issued with a valid self-signature → bootstrap client named by the
 *    SHA-256 of its SubjectPublicKeyInfo, if within its validity;
 * 4. anything else (another CA, even one with the same subject) → refused.
 *
 * Pure: the caller passes the time and the revocation lists.
 */
export function classifyPeer(
  peer: X509Certificate | undefined,
  opensslAuthorized: { authorized: boolean; error?: string | undefined },
  anchor: TrustAnchor,
  revocations: readonly RevocationList[],
  now: number,
): Classification {
  if (peer === undefined) return refuse('no-certificate', 'the client presented no certificate');

  if (peer.checkIssued(anchor.certificate) && peer.verify(anchor.publicKey)) {
    const validity = checkValidity(peer, now);
    if (validity) return validity;
    if (!(peer.keyUsage ?? []).includes(CLIENT_AUTH_OID)) {
      return refuse('no-device-identity', 'fleet-issued certificate without extKeyUsage clientAuth');
    }
    let deviceId: string;
    try {
      deviceId = deviceIdFromCertificate(peer);
    } catch (err) {
      return refuse('no-device-identity', (err as Error).message);
    }
    const serial = normalizeSerial(peer.serialNumber);
    if (serial === undefined) return refuse('no-device-identity', 'unreadable certificate serial');
    for (const list of revocations) {
      if (list.isRevoked(serial)) return refuse('revoked', `certificate ${serial} of device ${deviceId} is revoked`);
      if (list.isDeviceRevoked(deviceId)) return refuse('revoked', `device ${deviceId} is revoked`);
    }
    if (!opensslAuthorized.authorized) {
      return refuse('untrusted-issuer', `OpenSSL chain verification disagrees: ${opensslAuthorized.error ?? 'unknown error'}`);
    }
    return { ok: true, identity: { kind: 'device', deviceId, serial } };
  }

  if (peer.checkIssued(peer) && peer.verify(peer.publicKey)) {
    const validity = checkValidity(peer, now);
    if (validity) return validity;
    const bootstrapId = bootstrapIdFromSpki(peer.publicKey.export({ type: 'spki', format: 'der' }));
    return { ok: true, identity: { kind: 'bootstrap', bootstrapId, publicKey: peer.publicKey } };
  }

  return refuse('untrusted-issuer', `issuer "${oneLine(peer.issuer)}" is not the fleet CA and the certificate is not self-signed`);
}

function checkValidity(peer: X509Certificate, now: number): Classification | undefined {
  const notBefore = Date.parse(peer.validFrom);
  const notAfter = Date.parse(peer.validTo);
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) return refuse('untrusted-issuer', 'unreadable validity dates');
  if (now < notBefore) return refuse('certificate-not-yet-valid', `not valid before ${new Date(notBefore).toISOString()}`);
  if (now > notAfter) return refuse('certificate-expired', `expired at ${new Date(notAfter).toISOString()}`);
  return undefined;
}

function refuse(reason: RefusalReason, detail: string): Classification {
  return { ok: false, reason, detail };
}

/** Subjects/issuers print one attribute per line; logs want one line. */
export function oneLine(name: string): string {
  return name.replaceAll('\n', ', ').slice(0, 200);
}
