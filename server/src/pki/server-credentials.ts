import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { FleetCa } from './fleet-ca.js';
import { generateRsaKeyPair, privateKeyToPem } from './keys.js';
import { loadServerCredentialFiles, writeServerCredentialFiles, type ServerCredentialPaths, type ServerCredentials } from './ca-files.js';
import { hasServerSans } from './server-sans.js';
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

/** Why the broker certificate was reissued at start (for the log line). */
export type ServerCredentialsRenewal = 'missing' | 'unusable' | 'foreign' | 'expiring' | 'sans-changed';

/**
 * Loads the broker credentials, reissuing them when they are missing, the
 * certificate is not from this CA or does not match its key, it expires
 * within 30 days (an unattended server must not lock its fleet out on the
 * certificate's birthday), or its SANs are not the configured
 * `pki.serverSans` (an operator who adds a name expects devices to reach the
 * broker by it after a restart).
 */
export async function loadOrRenewServerCredentials(
  paths: ServerCredentialPaths,
  ca: FleetCa,
  options: { sans: readonly string[]; validityMs: number; now?: number },
): Promise<{ credentials: ServerCredentials; renewed: false } | { credentials: ServerCredentials; renewed: true; reason: ServerCredentialsRenewal }> {
  const now = options.now ?? Date.now();
  let current: ServerCredentials | undefined;
  try {
    current = await loadServerCredentialFiles(paths);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const reason = current === undefined ? 'missing' : renewalReason(current, ca, options.sans, now);
  if (reason !== undefined) return { credentials: await issueServerCredentialFiles(paths, ca, options), renewed: true, reason };
  return { credentials: current!, renewed: false };
}

function renewalReason(credentials: ServerCredentials, ca: FleetCa, sans: readonly string[], now: number): ServerCredentialsRenewal | undefined {
  try {
    const cert = new X509Certificate(credentials.certificatePem);
    if (!cert.checkPrivateKey(createPrivateKey(credentials.privateKeyPem)) || !cert.verify(ca.certificate.publicKey)) return 'foreign';
    if (Date.parse(cert.validTo) - now <= SERVER_CERTIFICATE_RENEW_BEFORE_MS) return 'expiring';
    if (!hasServerSans(cert, sans)) return 'sans-changed';
    return undefined;
  } catch {
    return 'unusable';
  }
}
