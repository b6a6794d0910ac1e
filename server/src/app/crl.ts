import type { ServerConfig } from '../config/index.js';
import type { DataDir } from '../datadir.js';
import type { Logger } from '../log.js';
import { days, type FleetCa, readCrlFile, reissueCrlFile } from '../pki/index.js';

/**
 * Reissues the CRL when it is missing or past half its validity, keeping its
 * entries; returns the revoked serials it lists.
 */
export async function refreshCrl(paths: DataDir, ca: FleetCa, config: ServerConfig, log: Logger): Promise<ReadonlySet<string>> {
  const current = await readCrlFile(paths.crl, ca);
  const validityMs = days(config.pki.crlValidityDays);
  const stale = current === undefined || current.nextUpdate === undefined || current.nextUpdate.getTime() - Date.now() < validityMs / 2;
  if (stale) {
    await reissueCrlFile(paths.crl, ca, current?.entries ?? [], { validityMs });
    log.info({ file: paths.crl, entries: current?.entries.length ?? 0 }, 'CRL reissued');
  }
  return current?.revokedSerials ?? new Set();
}
