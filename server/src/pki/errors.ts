/**
 * Why a PKI operation was refused. Stable codes: callers (the CLI, the
 * registrar) branch on them; the message is for humans.
 */
export type PkiErrorCode =
  /** The public key is not one the fleet CA can certify (not RSA, or too short). */
  | 'unsupported-key'
  /** The key bytes/PEM could not be parsed. */
  | 'invalid-key'
  /** The device id is not safe to put in a certificate and an MQTT topic. */
  | 'invalid-device-id'
  /** The certificate bytes/PEM could not be parsed. */
  | 'invalid-certificate'
  /** The certificate carries no (or more than one) `urn:vigil:device:` SAN URI. */
  | 'no-device-identity'
  /** The certificate is not an admin credential: no (or several) `urn:vigil:admin:` / `urn:vigil:role:` SAN URIs, or a device URI. */
  | 'no-admin-identity'
  /** A private key file is readable by group or others. */
  | 'insecure-key-file'
  /** The CA private key does not belong to the CA certificate. */
  | 'key-mismatch'
  /** The CRL file could not be parsed, or its number is out of range. */
  | 'invalid-crl'
  /** A validity period or other numeric option is out of range. */
  | 'invalid-option';

export class PkiError extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PkiError';
  }
}
