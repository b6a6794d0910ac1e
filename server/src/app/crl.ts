import type { ServerConfig } from '../config/index.js';
import type { DataDir } from '../datadir.js';
import type { Logger } from '../log.js';
import { days, hours, type FleetCa, readCrlHeaderFile } from '../pki/index.js';
import { CrlPublisher } from '../revocation/crl-publisher.js';
import type { Store } from '../store/index.js';

/** How often the server looks at the CRL's nextUpdate. */
const CHECK_EVERY_MS = hours(1);

/**
 * The CRL file while the server runs. The store is the source of truth for
 * revoked serials: at start the CRL is rebuilt from it (revoked, unexpired
 * certificates; `CrlPublisher`, signed on a worker thread), never parsed
 * from the previous file, whose size grows with the fleet's revocations.
 * Then, hourly, the file is reissued when it is past half its validity, so
 * relying parties always hold a current CRL even when nothing is revoked
 * for a while (RFC 5280 §5.1.2.5: nextUpdate). Only the file's header is
 * read for that (`readCrlHeaderFile`).
 */
export class CrlUpkeep {
  readonly #publisher: CrlPublisher;
  readonly #validityMs: number;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly deps: { readonly store: Store; readonly ca: FleetCa; readonly path: string; readonly validityMs: number; readonly log: Logger },
  ) {
    this.#publisher = new CrlPublisher(deps);
    this.#validityMs = deps.validityMs;
  }

  /** Rebuilds the CRL from the store now; `start()` begins the hourly check. */
  static async atStart(paths: DataDir, ca: FleetCa, config: ServerConfig, store: Store, log: Logger): Promise<CrlUpkeep> {
    const upkeep = new CrlUpkeep({ store, ca, path: paths.crl, validityMs: days(config.pki.crlValidityDays), log });
    try {
      await upkeep.#publisher.reissue();
    } catch (err) {
      await upkeep.close();
      throw err;
    }
    return upkeep;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.refreshIfStale().catch((err: unknown) => this.deps.log.error({ err }, 'CRL refresh failed'));
    }, CHECK_EVERY_MS);
    this.#timer.unref();
  }

  /** Reissues the CRL from the store when the file is missing, unreadable or past half its validity. */
  async refreshIfStale(now = Date.now()): Promise<boolean> {
    const header = await readCrlHeaderFile(this.deps.path, this.deps.ca).catch(() => undefined);
    const stale = header?.nextUpdate === undefined || header.nextUpdate.getTime() - now < this.#validityMs / 2;
    if (stale) await this.#publisher.reissue();
    return stale;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#publisher.close();
  }
}
