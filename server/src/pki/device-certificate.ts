import { PkiError } from './errors.js';
import { authorityKeyIdentifier, signCertificate, subjectAltName } from './forge-certificate.js';
import type { IssuedCertificate } from './issued-certificate.js';
import type { IssuerContext } from './issuer-context.js';
import { toPublicKeyObject, type PublicKeyInput } from './keys.js';
import { deviceUri } from './device-uri.js';
import { randomSerial } from './serial.js';
import { hours, validityWindow } from './validity.js';

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
  const { notBefore, notAfter } = validityWindow(request.now ?? new Date(), validityMs);
  const serial = randomSerial();
  const pem = signCertificate(
    {
      serial,
      subject: [{ shortName: 'CN', value: request.deviceId }],
      issuer: issuer.subject,
      publicKey: toPublicKeyObject(request.publicKey),
      notBefore,
      notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', clientAuth: true },
        subjectAltName({ uri: [uri] }),
        authorityKeyIdentifier(issuer.keyIdHex),
      ],
    },
    issuer.privateKey,
  );
  return { pem, serial, notBefore, notAfter };
}
