import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import type { DataDir } from '../../datadir.js';
import type { Logger } from '../../log.js';
import { days, generateRsaKeyPair, normalizeSerial, privateKeyToPem, writeSecretFile, type FleetCa } from '../../pki/index.js';
import { PUBLIC_FILE_MODE } from '../../pki/ca-files.js';
import { writeFileAtomic } from '../../pki/secret-file.js';
import type { Store } from '../../store/index.js';
import { loadClientCredential } from './credential-files.js';
import { adminPaths, LOCAL_ADMIN_NAME } from './paths.js';

/** The local credential is renewed by `start` when it has less than this left. */
export const LOCAL_CREDENTIAL_RENEW_BEFORE_MS = days(30);

/**
 * Issues the local admin credential (`DIR/admin/`, role admin, name `local`)
 * that `vigil-server` commands on the server host use to reach the admin
 * API: a fresh RSA key (0600, never leaves the directory), its certificate,
 * the fleet CA. Recorded in the store (audited as `admin.issue`).
 */
export async function issueLocalCredential(paths: DataDir, ca: FleetCa, store: Store, options: { validityMs: number; actor: string }): Promise<void> {
  const files = adminPaths(paths);
  await mkdir(files.credentialDir, { recursive: true, mode: 0o700 });
  await chmod(files.credentialDir, 0o700);
  const keys = await generateRsaKeyPair(2048);
  const issued = ca.issueAdminCertificate({ publicKey: keys.publicKey, name: LOCAL_ADMIN_NAME, role: 'admin', validityMs: options.validityMs });
  await store.addAdminCredential({
    serial: issued.serial,
    name: LOCAL_ADMIN_NAME,
    role: 'admin',
    notBefore: issued.notBefore.getTime(),
    notAfter: issued.notAfter.getTime(),
    actor: options.actor,
  });
  await writeSecretFile(files.key, privateKeyToPem(keys.privateKey));
  await writeFileAtomic(files.certificate, issued.pem, PUBLIC_FILE_MODE);
  await writeFileAtomic(files.ca, ca.certificatePem, PUBLIC_FILE_MODE);
}

/**
 * Keeps the local credential usable: reissued when missing, unreadable, not
 * from this CA, not matching its key, unknown to the store or near expiry.
 * A credential an administrator revoked is left revoked (with a warning):
 * undoing a revocation is an explicit act (`vigil-server admin issue`).
 */
export async function ensureLocalCredential(
  paths: DataDir,
  ca: FleetCa,
  store: Store,
  options: { validityMs: number; log: Logger; now?: number },
): Promise<'kept' | 'issued' | 'revoked'> {
  const now = options.now ?? Date.now();
  const current = await loadClientCredential(paths).catch(() => undefined);
  if (current !== undefined) {
    try {
      const cert = new X509Certificate(current.certificatePem);
      const serial = normalizeSerial(cert.serialNumber);
      const record = serial === undefined ? null : await store.getAdminCredential(serial);
      const sound =
        cert.checkIssued(ca.certificate) &&
        cert.verify(ca.certificate.publicKey) &&
        cert.checkPrivateKey(createPrivateKey(current.keyPem)) &&
        Date.parse(cert.validTo) - now > LOCAL_CREDENTIAL_RENEW_BEFORE_MS &&
        record !== null &&
        record.name === LOCAL_ADMIN_NAME;
      if (sound && record.revokedAt !== null) {
        options.log.warn({ serial }, 'the local admin credential is revoked: vigil-server commands on this host cannot use the admin API');
        return 'revoked';
      }
      if (sound) return 'kept';
    } catch {
      // Unparseable: reissue below.
    }
  }
  await issueLocalCredential(paths, ca, store, { validityMs: options.validityMs, actor: 'server' });
  options.log.info({ dir: adminPaths(paths).credentialDir }, 'local admin credential issued');
  return 'issued';
}
