import { X509Certificate } from 'node:crypto';
import { DEVICE_URI_PREFIX, isValidDeviceId } from './device-uri.js';
import { PkiError } from './errors.js';
import { x509 } from './x509.js';

export type CertificateInput = X509Certificate | string | Uint8Array;

export function toX509Certificate(cert: CertificateInput): X509Certificate {
  if (cert instanceof X509Certificate) return cert;
  try {
    return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch (err) {
    throw new PkiError('invalid-certificate', `cannot parse certificate: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The device id a certificate speaks for, read from its SAN URI
 * `urn:vigil:device:<id>` and never from the CN (free text that any CA may
 * fill). The SAN is decoded structurally from the DER (RFC 5280 §4.2.1.6)
 * rather than from OpenSSL's comma-separated text rendering, which a crafted
 * dNSName containing ", URI:..." could confuse.
 *
 * This says nothing about who issued the certificate: the caller checks the
 * chain first (the broker does, see `classifyPeer`).
 *
 * @throws PkiError 'invalid-certificate' | 'no-device-identity'
 */
export function deviceIdFromCertificate(cert: CertificateInput): string {
  const x = toX509Certificate(cert);
  const uris = sanUris(x);
  const ids = uris.filter((u) => u.startsWith(DEVICE_URI_PREFIX)).map((u) => u.slice(DEVICE_URI_PREFIX.length));
  if (ids.length === 0) throw new PkiError('no-device-identity', `certificate has no ${DEVICE_URI_PREFIX}<id> SAN URI`);
  if (ids.length > 1) throw new PkiError('no-device-identity', `certificate has ${ids.length} device SAN URIs; exactly one is allowed`);
  const id = ids[0]!;
  if (!isValidDeviceId(id)) throw new PkiError('no-device-identity', `certificate device id ${JSON.stringify(id.slice(0, 80))} is not a valid device id`);
  return id;
}

/**
 * The uniformResourceIdentifier entries of the SAN (RFC 5280 §4.2.1.6).
 *
 * Fast path (this runs on every broker handshake): Node's `subjectAltName`
 * text, already decoded by OpenSSL. Node prints any name that contains a
 * comma, quote, space or control character as a JSON string in quotes, so
 * when the text has no `"` at all, no name contains ", " and splitting on it
 * is exact. Otherwise the SAN extension is decoded structurally from the DER
 * with @peculiar/x509 (about 2 ms instead of microseconds).
 */
export function sanUris(cert: X509Certificate, failure: 'no-device-identity' | 'no-admin-identity' = 'no-device-identity'): string[] {
  // undefined: no SAN extension. null (typed as undefined by @types/node):
  // OpenSSL could not render a damaged one, which the structural decode below
  // then refuses with a typed error.
  const text = cert.subjectAltName as string | null | undefined;
  if (text === undefined) return [];
  if (text !== null && !text.includes('"')) {
    return text
      .split(', ')
      .filter((entry) => entry.startsWith('URI:'))
      .map((entry) => entry.slice(4));
  }
  try {
    const san = new x509.X509Certificate(cert.raw).getExtension(x509.SubjectAlternativeNameExtension);
    return san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  } catch (err) {
    throw new PkiError(failure, `certificate subjectAltName cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
}
