/** What the CA hands back for every certificate it signs; the caller stores the serial. */
export interface IssuedCertificate {
  /** PEM-encoded certificate. */
  readonly pem: string;
  /** Canonical lowercase hex serial (see `normalizeSerial`). */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}
