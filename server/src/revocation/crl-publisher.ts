import { CoalescedTask } from '@vigil/runtime';
import type { Logger } from '../log.js';
import { readCrlHeaderFile, type CrlReason, type FleetCa, type RevokedCertificate as CrlEntry } from '../pki/index.js';
import { writeFileAtomic } from '../pki/secret-file.js';
import type { RevokedCertificate, Store } from '../store/index.js';
import { CrlSigner } from './crl-signer.js';

/** RFC 5280 §5.3.1 reason per revocation reason: a contraindicated device's key lives on a platform that cannot be trusted. */
const CRL_REASON: Readonly<Record<RevokedCertificate['reason'], CrlReason>> = {
  contraindicated: 'keyCompromise',
  stale: 'privilegeWithdrawn',
  admin: 'privilegeWithdrawn',
};

/**
 * Reissues the CRL file from the store's revoked certificates.
 *
 * - One writer at a time: requests that arrive while a reissue runs are
 *   served by one more reissue after it (which reads the store afresh), so
 *   a burst of revocations costs two signatures, not one each, and none is
 *   left out of the file.
 * - Certificates past their `notAfter` are left out (RFC 5280 §3.3 allows
 *   it: an expired certificate is refused anyway). Device certificates live
 *   a day, so the CRL holds the last day's revocations, not the fleet's history.
 * - Built and signed on a worker thread (`CrlSigner`): encoding a CRL of
 *   thousands of entries takes @peculiar/x509 seconds of JavaScript, which
 *   must not stall verdicts.
 * - cRLNumber (§5.2.3) increases monotonically: one past the larger of the
 *   last number this publisher wrote and the file's, and never less than
 *   the current time in milliseconds, so other writers of the file (another
 *   publisher, a replica) cannot make it go back. The file's number is read
 *   from its header only (`readCrlHeaderFile`): a CRL of any size is never
 *   decoded on this path.
 */
export class CrlPublisher {
  readonly #reissue = new CoalescedTask(() => this.#reissueOnce());
  #last: bigint | undefined;
  readonly #signer: CrlSigner;

  constructor(
    private readonly deps: { readonly store: Store; readonly ca: FleetCa; readonly path: string; readonly validityMs: number; readonly log: Logger; readonly now?: () => number },
  ) {
    this.#signer = new CrlSigner(deps.ca);
  }

  /** Resolves once a CRL including every revocation committed before the call is on disk. */
  async reissue(): Promise<void> {
    await this.#reissue.run();
  }

  async close(): Promise<void> {
    await this.#reissue.settled();
    await this.#signer.close();
  }

  async #reissueOnce(): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const revoked = await this.deps.store.listRevokedCertificates();
    const entries: CrlEntry[] = revoked.filter((c) => c.notAfter > now).map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt), reason: CRL_REASON[c.reason] }));
    const crlNumber = await this.#nextNumber(now);
    const pem = await this.#signer.issue(entries, crlNumber, this.deps.validityMs);
    await writeFileAtomic(this.deps.path, pem, 0o644);
    this.#last = crlNumber;
    this.deps.log.info({ file: this.deps.path, entries: entries.length, crlNumber: crlNumber.toString() }, 'CRL reissued');
  }

  async #nextNumber(now: number): Promise<bigint> {
    // A missing, foreign or damaged file numbers nothing: the clock and our own last number still hold.
    const onDisk = await readCrlHeaderFile(this.deps.path, this.deps.ca).then(
      (h) => h?.crlNumber ?? 0n,
      () => 0n,
    );
    const last = this.#last !== undefined && this.#last > onDisk ? this.#last : onDisk;
    const candidate = last + 1n;
    const clock = BigInt(now);
    return candidate > clock ? candidate : clock;
  }
}
