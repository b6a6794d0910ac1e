import { readTextIfExists } from '@vigil/runtime';
import { CRL_NUMBER_OID, crlReasonName, parseDerNonNegativeInteger, type RevokedCertificate } from './crl.js';
import { readCrlHeaderFile } from './crl-header.js';
import { PkiError } from './errors.js';
import type { FleetCa, IssueCrlOptions } from './fleet-ca.js';
import { PUBLIC_FILE_MODE } from './ca-files.js';
import { normalizeSerial } from './serial.js';
import { writeFileAtomic } from './secret-file.js';
import { x509 } from './x509.js';

export interface CrlSummary {
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Canonical serials (see `normalizeSerial`). */
  readonly revokedSerials: ReadonlySet<string>;
  /** The entries as written, to reissue the same list later. */
  readonly entries: readonly RevokedCertificate[];
}

/**
 * Parses a CRL (PEM) this CA wrote, checking its signature against the CA.
 * Decodes every entry with @peculiar/x509, which refuses CRLs past ~1,600
 * entries: for tests and tools. The server reads only the header of its
 * CRL (`readCrlHeader`) and rebuilds the list from the store.
 * @throws PkiError 'invalid-crl'
 */
export async function readCrl(pem: string, ca: FleetCa): Promise<CrlSummary> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(pem);
  } catch (err) {
    throw new PkiError('invalid-crl', `cannot parse CRL: ${(err as Error).message}`, { cause: err });
  }
  const signedByCa = await crl.verify({ publicKey: new x509.X509Certificate(ca.certificate.raw) }).catch(() => false);
  if (!signedByCa) throw new PkiError('invalid-crl', 'the CRL is not signed by the fleet CA');
  const ext = crl.getExtension(CRL_NUMBER_OID);
  if (!ext) throw new PkiError('invalid-crl', 'the CRL has no cRLNumber extension');
  const revokedSerials = new Set<string>();
  const entries: RevokedCertificate[] = [];
  for (const entry of crl.entries) {
    const serial = normalizeSerial(entry.serialNumber);
    if (serial === undefined) continue;
    revokedSerials.add(serial);
    const reason = entry.reason === undefined ? undefined : crlReasonName(entry.reason);
    entries.push({ serial, revokedAt: entry.revocationDate, ...(reason !== undefined ? { reason } : {}) });
  }
  return {
    crlNumber: parseDerNonNegativeInteger(new Uint8Array(ext.value)),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revokedSerials,
    entries,
  };
}

/** Reads `path` if it exists; undefined when there is no CRL yet. */
export async function readCrlFile(path: string, ca: FleetCa): Promise<CrlSummary | undefined> {
  const pem = await readTextIfExists(path);
  return pem === undefined ? undefined : readCrl(pem, ca);
}

/**
 * Reissues the CRL file with `revoked`, numbered one past the file's current
 * number (RFC 5280 §5.2.3: monotonically increasing), so the number survives
 * restarts without any other state. Only the file's header is read
 * (`readCrlHeaderFile`), whatever its size. Written atomically.
 */
export async function reissueCrlFile(
  path: string,
  ca: FleetCa,
  revoked: readonly RevokedCertificate[],
  options: Omit<IssueCrlOptions, 'crlNumber'> = {},
): Promise<string> {
  const previous = await readCrlHeaderFile(path, ca);
  const pem = await ca.issueCrl(revoked, { ...options, crlNumber: (previous?.crlNumber ?? 0n) + 1n });
  await writeFileAtomic(path, pem, PUBLIC_FILE_MODE);
  return pem;
}
