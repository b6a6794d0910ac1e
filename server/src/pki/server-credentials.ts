import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { FleetCa } from './fleet-ca.js';
import { generateRsaKeyPair, privateKeyToPem } from './keys.js';
import { loadServerCredentialFiles, writeServerCredentialFiles, type ServerCredentialPaths, type ServerCredentials } from './ca-files.js';
import { days } from './validity.js';

/** The broker certificate is reissued when it has less than this left. */
export const SERVER_CERTIFICATE_RENEW_BEFORE_MS = days(30);

/** A fresh RSA-2048 broker key and a certificate for it from the fleet CA, written to disk (key 0600). */
export async function issueServerCredentialFiles(
  paths: ServerCredentialPaths,
  ca: FleetCa,
  options: { sans: readonly string[]; validityMs: number },
): Promise<ServerCredentials> {
  const keys = await generateRsaKeyPair(2048);
  const issued = ca.issueServerCertificate({ publicKey: keys.publicKey, sans: options.sans, validityMs: options.validityMs });
  const credentials = { certificatePem: issued.pem, privateKeyPem: privateKeyToPem(keys.privateKey) };
  await writeServerCredentialFiles(paths, credentials);
  return credentials;
}

/**
 * Loads the broker credentials, reissuing them when the certificate is not
 * from this CA, does not match its key, or expires within 30 days (an
 * unattended server must not lock its fleet out on the certificate's birthday).
 */
export async function loadOrRenewServerCredentials(
  paths: ServerCredentialPaths,
  ca: FleetCa,
  options: { sans: readonly string[]; validityMs: number; now?: number },
): Promise<{ credentials: ServerCredentials; renewed: boolean }> {
  const now = options.now ?? Date.now();
  let current: ServerCredentials | undefined;
  try {
    current = await loadServerCredentialFiles(paths);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (current !== undefined && usable(current, ca, now)) return { credentials: current, renewed: false };
  return { credentials: await issueServerCredentialFiles(paths, ca, options), renewed: true };
}

function usable(credentials: ServerCredentials, ca: FleetCa, now: number): boolean {
  try {
    const cert = new X509Certificate(credentials.certificatePem);
    const keyMatches = cert.checkPrivateKey(createPrivateKey(credentials.privateKeyPem));
    return keyMatches && cert.verify(ca.certificate.publicKey) && Date.parse(cert.validTo) - now > SERVER_CERTIFICATE_RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}
