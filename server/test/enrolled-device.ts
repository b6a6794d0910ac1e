import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../src/store/index.js';

/**
 * Enrolls one device with placeholder keys straight into `store` (a token
 * of one use, a certificate row): for tests of the store and of the
 * verifier's parts that need a device to exist, not a working TPM.
 */
export async function enrollPlaceholderDevice(store: Store, deviceId: string): Promise<void> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 600_000, actor: 'test' });
  const enrolled = await store.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: {
      id: deviceId,
      ekPublic: randomBytes(300),
      ekName: '000b' + randomBytes(32).toString('hex'),
      akPublic: randomBytes(280),
      akName: '000b' + randomBytes(32).toString('hex'),
      facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '1', tpm: { manufacturer: 'm', firmwareVersion: 'f' } },
    },
    certificate: { serial: randomBytes(8).toString('hex'), notBefore: 0, notAfter: Date.now() + 600_000, pem: 'PEM' },
    actor: 'test',
  });
  expect(enrolled.ok).toBe(true);
}
