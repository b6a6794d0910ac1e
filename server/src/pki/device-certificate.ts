import { PkiError } from './errors.js';
import type { IssuedCertificate } from './issued-certificate.js';
import type { IssuerContext } from './issuer-context.js';
import type { PublicKeyInput } from './keys.js';
import { deviceUri } from './device-uri.js';
import { issueLeafCertificate } from './leaf-certificate.js';
import { hours } from './validity.js';

export const DEFAULT_DEVICE_CERTIFICATE_VALIDITY_MS = hours(24);

export interface DeviceCertificateRequest {
  /** The key the device proved possession of in its bootstrap TLS handshake. */
  readonly publicKey: PublicKeyInput;
  readonly deviceId: string;
  /** Lifetime from `now`; default 24 h. Short-lived: renewed only after a passing attestation. */
  readonly validityMs?: number;
  /** Issue time; defaults to the current time. Tests use a past time to make expired certificates. */
  readonly now?: Date;
}

/**
 * A device certificate: subject CN = device id (for humans and logs), SAN URI
 * `urn:vigil:device:<id>` (the identity the broker reads), extKeyUsage
 * clientAuth only (RFC 5280 §4.2.1.12), keyUsage digitalSignature (TLS 1.3
 * CertificateVerify). Serial: 16 random bytes, returned for the registrar to store.
 */
export function issueDeviceCertificateWith(issuer: IssuerContext, request: DeviceCertificateRequest): IssuedCertificate {
  const uri = deviceUri(request.deviceId);
  const validityMs = request.validityMs ?? DEFAULT_DEVICE_CERTIFICATE_VALIDITY_MS;
  if (validityMs > hours(24 * 400)) {
    throw new PkiError('invalid-option', 'device certificates are short-lived: validity must not exceed 400 days');
  }
  return issueLeafCertificate(
    issuer,
    { subject: [{ shortName: 'CN', value: request.deviceId }], extendedKeyUsage: 'clientAuth', subjectAltNames: { uri: [uri] } },
    { publicKey: request.publicKey, validityMs, now: request.now },
  );
}
