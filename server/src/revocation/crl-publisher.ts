import type { Logger } from '../log.js';
import { reissueCrlFile, type CrlReason, type FleetCa, type RevokedCertificate as CrlEntry } from '../pki/index.js';
import type { RevokedCertificate, Store } from '../store/index.js';

/** RFC 5280 §5.3.1 reason per revocation reason: a contraindicated device's key lives on a platform that cannot be trusted. */
const CRL_REASON: Readonly<Record<RevokedCertificate['reason'], CrlReason>> = {
  contraindicated: 'keyCompromise',
  stale: 'privilegeWithdrawn',
  admin: 'privilegeWithdrawn',
};

/**
 * Reissues the CRL file from the store's revoked certificates, one writer
 * at a time: requests that arrive while a reissue runs are served by one
 * more reissue after it (which reads the store afresh), so a burst of
 * revocations costs two signatures, not one each, and no revocation is
 * left out of the file.
 */
export class CrlPublisher {
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly deps: { readonly store: Store; readonly ca: FleetCa; readonly path: string; readonly validityMs: number; readonly log: Logger },
  ) {}

  /** Resolves once a CRL including every revocation committed before the call is on disk. */
  async reissue(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      // Wait for the running one, then for the one it chains (which sees our revocation).
      await this.#running;
      if (this.#running !== undefined) await this.#running;
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    await this.#running;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      const revoked = await this.deps.store.listRevokedCertificates();
      const entries: CrlEntry[] = revoked.map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt), reason: CRL_REASON[c.reason] }));
      await reissueCrlFile(this.deps.path, this.deps.ca, entries, { validityMs: this.deps.validityMs });
      this.deps.log.info({ file: this.deps.path, entries: entries.length }, 'CRL reissued');
    } while (this.#again);
  }
}
