import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '@vigil/runtime';
import { bootstrapIdOfKey, certificateStillUsable, createBootstrapIdentity, IdentityError, type BootstrapIdentity } from './bootstrap-identity.js';

/** Where the agent keeps its identity inside its state directory (`--state DIR`). */
export interface IdentityPaths {
  /** The agent's private key (PKCS#8 PEM, 0600): bootstrap key and, once enrolled, device key. */
  readonly key: string;
  /** Self-signed bootstrap certificate (PEM). */
  readonly bootstrapCertificate: string;
  /** Device certificate issued by the fleet CA at enrollment (PEM). */
  readonly deviceCertificate: string;
}

export function identityPaths(stateDir: string): IdentityPaths {
  return {
    key: join(stateDir, 'device.key'),
    bootstrapCertificate: join(stateDir, 'bootstrap.pem'),
    deviceCertificate: join(stateDir, 'device.pem'),
  };
}

const RENEW_MARGIN_MS = 7 * 86_400_000;

/**
 * The agent's bootstrap identity from `stateDir`, created on first use: the
 * key is generated once and kept (the device certificate will be issued for
 * it); the self-signed certificate is re-made when missing or within a week
 * of expiry. Refuses a key file that group or others can read.
 */
export async function loadOrCreateBootstrapIdentity(stateDir: string, now: Date = new Date()): Promise<BootstrapIdentity> {
  const paths = identityPaths(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const existingKey = await readTextIfExists(paths.key);
  if (existingKey === undefined) {
    const identity = await createBootstrapIdentity({ now });
    await writeFileAtomic(paths.key, identity.privateKeyPem, 0o600);
    await writeFileAtomic(paths.bootstrapCertificate, identity.certificatePem, 0o644);
    return identity;
  }
  const mode = (await stat(paths.key)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new IdentityError(`${paths.key} has mode ${mode.toString(8)}: the agent key must be readable by its owner only (chmod 600)`);
  }
  const existingCert = await readTextIfExists(paths.bootstrapCertificate);
  if (existingCert !== undefined && certificateStillUsable(existingCert, existingKey, now, RENEW_MARGIN_MS)) {
    return { privateKeyPem: existingKey, certificatePem: existingCert, bootstrapId: bootstrapIdOfKey(existingKey) };
  }
  const identity = await createBootstrapIdentity({ privateKeyPem: existingKey, now });
  await writeFileAtomic(paths.bootstrapCertificate, identity.certificatePem, 0o644);
  return identity;
}
