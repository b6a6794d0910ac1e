import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapIdFromSpki } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityPaths, IdentityError, loadOrCreateBootstrapIdentity } from '@vigil/agent';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { deviceIdFromCertificate } from '../src/pki/index.js';

/**
 * The agent's bootstrap identity (agent/src/identity) as the PKI and broker
 * rely on it: an RSA key kept 0600, a self-signed certificate that the broker
 * recognises as self-signed, and a key the fleet CA can certify.
 */
let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir('vigil-agent-id-');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('agent bootstrap identity', () => {
  it('is created once, 0600, named by the SHA-256 of its SPKI, and self-signed as the broker checks it', async () => {
    const dir = join(tmp.path, 'state');
    const identity = await loadOrCreateBootstrapIdentity(dir);
    const paths = identityPaths(dir);
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readFile(paths.key, 'utf8')).toBe(identity.privateKeyPem);
    expect(await readFile(paths.bootstrapCertificate, 'utf8')).toBe(identity.certificatePem);

    const key = createPrivateKey(identity.privateKeyPem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    expect(identity.bootstrapId).toBe(bootstrapIdFromSpki(spki));

    const cert = new X509Certificate(identity.certificatePem);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.ca).toBe(false);

    const again = await loadOrCreateBootstrapIdentity(dir);
    expect(again).toEqual(identity);
  });

  it('keeps the key but re-makes the certificate when it nears expiry', async () => {
    const dir = join(tmp.path, 'state');
    const before = await loadOrCreateBootstrapIdentity(dir);
    const later = new Date(Date.now() + 360 * 86_400_000); // within a week of the 365-day certificate's end
    const after = await loadOrCreateBootstrapIdentity(dir, later);
    expect(after.privateKeyPem).toBe(before.privateKeyPem);
    expect(after.bootstrapId).toBe(before.bootstrapId);
    expect(after.certificatePem).not.toBe(before.certificatePem);
    expect(Date.parse(new X509Certificate(after.certificatePem).validTo)).toBeGreaterThan(later.getTime());
  });

  it('refuses a key file that group or others can read', async () => {
    const dir = join(tmp.path, 'state');
    await chmod(identityPaths(dir).key, 0o644);
    const err = await loadOrCreateBootstrapIdentity(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityError);
    expect((err as Error).message).toContain('chmod 600');
    await chmod(identityPaths(dir).key, 0o600);
  });

  it('has a key the fleet CA certifies as a device', async () => {
    const identity = await loadOrCreateBootstrapIdentity(join(tmp.path, 'state'));
    const ca = await makeFleetCa();
    const issued = ca.issueDeviceCertificate({ publicKey: createPrivateKey(identity.privateKeyPem), deviceId: 'from-bootstrap' });
    const cert = new X509Certificate(issued.pem);
    expect(cert.checkPrivateKey(createPrivateKey(identity.privateKeyPem))).toBe(true);
    expect(deviceIdFromCertificate(cert)).toBe('from-bootstrap');
  });
});
