import { X509Certificate } from 'node:crypto';
import type { Logger } from '../log.js';
import type { FleetCa } from '../pki/index.js';
import type { Store } from '../store/index.js';
import { Lru } from './state/lru.js';

/** A certificate is renewed once less than this fraction of its validity is left. */
export const RENEW_WHEN_REMAINING = 1 / 3;

/** Certificates whose renewal time is remembered (one entry per connected certificate; far above a fleet's). */
const DUE_TIMES_KEPT = 200_000;

/**
 * Certificate renewal after an affirming verdict. The device's key does not
 * change, so no CSR is needed: the new certificate is for the public key of
 * the certificate the device connected with (looked up by the serial the
 * broker saw), and only once that certificate is in the last third of its
 * validity. A device that is not affirming never gets one, so a device that
 * stops passing attestation loses its access when its certificate expires,
 * even if nothing revokes it.
 *
 * Before that time the answer is "no renewal" whatever the store says (a
 * certificate's validity never changes, and a revoked or foreign one is
 * refused anyway), so the time is remembered per serial and the store is
 * read only from then on: not once per affirming verdict.
 */
export class CertificateRenewal {
  /** serial → the device it was read for and the time its renewal falls due (ms). */
  readonly #dueAt = new Lru<string, { readonly deviceId: string; readonly at: number }>(DUE_TIMES_KEPT);

  constructor(
    private readonly deps: { readonly store: Store; readonly ca: FleetCa; readonly validityMs: number; readonly log: Logger; readonly now: () => number },
  ) {}

  /**
   * A renewed certificate (PEM) if `serial` is due for renewal, else
   * undefined; undefined at once, with no promise, when the serial is known
   * not to be due yet (nearly every affirming verdict: no await on that path).
   */
  renewIfDue(deviceId: string, serial: string): Promise<string | undefined> | undefined {
    // Peeked, not refreshed: an entry evicted while still used only costs one store read.
    const known = this.#dueAt.peek(serial);
    if (known !== undefined && known.deviceId === deviceId && this.deps.now() < known.at) return undefined;
    return this.#renewIfDue(deviceId, serial);
  }

  async #renewIfDue(deviceId: string, serial: string): Promise<string | undefined> {
    const current = await this.deps.store.getCertificate(serial);
    if (current === null || current.deviceId !== deviceId || current.revokedAt !== null) return undefined;
    const now = this.deps.now();
    const lifetime = current.notAfter - current.notBefore;
    const dueAt = current.notAfter - lifetime * RENEW_WHEN_REMAINING;
    if (now < dueAt) {
      this.#dueAt.set(serial, { deviceId, at: dueAt });
      return undefined;
    }
    this.#dueAt.delete(serial);
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
