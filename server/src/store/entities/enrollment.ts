import type { DeviceFacts, EnrollRejection } from '@vigil/protocol/core';
import type { Actor } from './common.js';
import type { CertificateRecord, NewCertificate } from './certificate.js';
import type { Device } from './device.js';
import type { EnrollmentTokenRecord } from './enrollment-token.js';

/** Everything that becomes true when a device's enrollment completes. */
export interface EnrollDeviceInput {
  /** Hash of the token the device presented; one use is consumed. */
  readonly tokenHash: string;
  readonly device: {
    /**
     * The token's fixed device name if it has one (anything else is a
     * StoreError: the registrar reads the token before it issues the
     * certificate); for a re-enrollment, the existing device's id.
     */
    readonly id: string;
    readonly ekPublic: Uint8Array;
    readonly ekName: string;
    readonly ekCertificate?: Uint8Array | null;
    readonly akPublic: Uint8Array;
    readonly akName: string;
    readonly facts: DeviceFacts;
    readonly group?: string | null;
  };
  /** The device certificate just issued for the bootstrap key. */
  readonly certificate: Omit<NewCertificate, 'deviceId'>;
  readonly actor: Actor;
}

/** Named refusals, spelled as the enrollment result sends them. */
export type EnrollDeviceRejection = Extract<
  EnrollRejection,
  'token-unknown' | 'token-expired' | 'token-used-up' | 'token-revoked' | 'already-enrolled' | 'device-name-taken'
>;

export type EnrollDeviceResult =
  | {
      readonly ok: true;
      readonly device: Device;
      readonly certificate: CertificateRecord;
      readonly token: EnrollmentTokenRecord;
      /** True if an existing device (same EK) enrolled again, as an admin allowed. */
      readonly reenrolled: boolean;
      /** Certificates of the earlier enrollment, revoked now (reissue the CRL if non-empty). */
      readonly revokedSerials: readonly string[];
    }
  | { readonly ok: false; readonly reason: EnrollDeviceRejection };
