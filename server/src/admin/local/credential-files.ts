import { readFile } from 'node:fs/promises';
import type { DataDir } from '../../datadir.js';
import { assertOwnerOnly } from '../../pki/secret-file.js';
import { adminPaths } from './paths.js';

/** A client credential as files hold it. */
export interface ClientCredential {
  readonly certificatePem: string;
  readonly keyPem: string;
  /** The fleet CA: trust anchor for the server's certificate. */
  readonly caPem: string;
}

/**
 * Reads the local admin credential (`DIR/admin/`), refusing a key file
 * others can read. Kept apart from issuing (which needs the PKI code), so
 * that every CLI command can load it cheaply.
 * @throws fs errors (ENOENT, EACCES), PkiError 'insecure-key-file'
 */
export async function loadClientCredential(paths: DataDir): Promise<ClientCredential> {
  const files = adminPaths(paths);
  await assertOwnerOnly(files.key);
  const [certificatePem, keyPem, caPem] = await Promise.all([readFile(files.certificate, 'utf8'), readFile(files.key, 'utf8'), readFile(files.ca, 'utf8')]);
  return { certificatePem, keyPem, caPem };
}
