import type { FleetCa } from '../pki/index.js';
import type { Store } from '../store/index.js';
import type { EkTrustStore } from './ek-trust.js';

/** The enrollment policy, from the `enrollment:` and `pki:` configuration sections. */
export interface RegistrarSettings {
  /** Accept a TPM without an EK certificate (`enrollment.allowEkWithoutCertificate`). */
  readonly allowEkWithoutCertificate: boolean;
  /** How long a MakeCredential challenge stays open. */
  readonly sessionTtlMs: number;
  /** Lifetime of the device certificate issued at enrollment (`pki.deviceCertificateValidityHours`). */
  readonly certificateValidityMs: number;
}

/** What the request and proof steps work with. */
export interface RegistrarContext {
  readonly store: Store;
  readonly ca: FleetCa;
  readonly trust: EkTrustStore;
  readonly settings: RegistrarSettings;
}
