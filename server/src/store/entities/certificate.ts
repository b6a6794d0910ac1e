import type { RevocationReason } from '@vigil/protocol/core';
import type { EpochMs } from './common.js';

export interface NewCertificate {
  /** Lowercase hex serial, unique across the fleet. */
  readonly serial: string;
  readonly deviceId: string;
  readonly notBefore: EpochMs;
  readonly notAfter: EpochMs;
  readonly pem: string;
}

export interface CertificateRecord extends NewCertificate {
  readonly issuedAt: EpochMs;
  readonly revokedAt: EpochMs | null;
}

/** A CRL entry (RFC 5280 §5.1.2.6). */
export interface RevokedCertificate {
  readonly serial: string;
  readonly deviceId: string;
  readonly revokedAt: EpochMs;
  readonly reason: RevocationReason;
  /** A CRL may drop entries once the certificate has expired (RFC 5280 §3.3). */
  readonly notAfter: EpochMs;
}
