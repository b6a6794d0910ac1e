import { X509Certificate } from 'node:crypto';
import type { Logger } from '../log.js';
import type { FleetCa } from '../pki/index.js';
import type { Store } from '../store/index.js';

/** A certificate is renewed once less than this fraction of its validity is left. */
export const RENEW_WHEN_REMAINING = 1 / 3;

/**
 * Certificate renewal after an affirming verdict. The device's key does not
 * change, so no CSR is needed: the new certificate is for the public key of
 * the certificate the device connected with (looked up by the serial the
 * broker saw), and only once that certificate is in the last third of its
 * validity. A device that is not affirming never gets one, so a device that
 * stops passing attestation loses its access when its certificate expires,
 * even if nothing revokes it.
 */
export class CertificateRenewal {
  constructor(
    private readonly deps: { readonly store: Store; readonly ca: FleetCa; readonly validityMs: number; readonly log: Logger; readonly now: () => number },
  ) {}

  /** A renewed certificate (PEM) if `serial` is due for renewal, else undefined. */
  async renewIfDue(deviceId: string, serial: string): Promise<string | undefined> {
    const current = await this.deps.store.getCertificate(serial);
    if (current === null || current.deviceId !== deviceId || current.revokedAt !== null) return undefined;
    const now = this.deps.now();
    const lifetime = current.notAfter - current.notBefore;
    if (current.notAfter - now > lifetime * RENEW_WHEN_REMAINING) return undefined;
    const publicKey = new X509Certificate(current.pem).publicKey;
    const issued = this.deps.ca.issueDeviceCertificate({ publicKey, deviceId, validityMs: this.deps.validityMs });
    await this.deps.store.addCertificate(
      { serial: issued.serial, deviceId, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), pem: issued.pem },
      'verifier',
    );
    this.deps.log.info({ deviceId, serial: issued.serial, replaces: serial }, 'device certificate renewed');
    return issued.pem;
  }
}
