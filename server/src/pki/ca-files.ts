import { readFile } from 'node:fs/promises';
import type { DataDir } from '../datadir.js';
import { FleetCa } from './fleet-ca.js';
import { assertOwnerOnly, writeFileAtomic, writeSecretFile } from './secret-file.js';

/** Public files (certificates, CRL) are world-readable: operators and devices need them. */
const PUBLIC_FILE_MODE = 0o644;

export type CaPaths = Pick<DataDir, 'caCert' | 'caKey'>;
export type ServerCredentialPaths = Pick<DataDir, 'serverCert' | 'serverKey'>;

export async function writeFleetCaFiles(paths: CaPaths, ca: FleetCa): Promise<void> {
  await writeSecretFile(paths.caKey, ca.privateKeyPem());
  await writeFileAtomic(paths.caCert, ca.certificatePem, PUBLIC_FILE_MODE);
}

/**
 * Loads the fleet CA, refusing a key file that group or others can read.
 * @throws PkiError 'insecure-key-file' | 'invalid-key' | 'invalid-certificate' | 'key-mismatch'; fs errors (ENOENT...)
 */
export async function loadFleetCaFiles(paths: CaPaths): Promise<FleetCa> {
  await assertOwnerOnly(paths.caKey);
  const [cert, key] = await Promise.all([readFile(paths.caCert, 'utf8'), readFile(paths.caKey, 'utf8')]);
  return FleetCa.fromPem(cert, key);
}

export interface ServerCredentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export async function writeServerCredentialFiles(paths: ServerCredentialPaths, credentials: ServerCredentials): Promise<void> {
  await writeSecretFile(paths.serverKey, credentials.privateKeyPem);
  await writeFileAtomic(paths.serverCert, credentials.certificatePem, PUBLIC_FILE_MODE);
}

/** @throws PkiError 'insecure-key-file'; fs errors */
export async function loadServerCredentialFiles(paths: ServerCredentialPaths): Promise<ServerCredentials> {
  await assertOwnerOnly(paths.serverKey);
  const [certificatePem, privateKeyPem] = await Promise.all([readFile(paths.serverCert, 'utf8'), readFile(paths.serverKey, 'utf8')]);
  return { certificatePem, privateKeyPem };
}

export { PUBLIC_FILE_MODE };
