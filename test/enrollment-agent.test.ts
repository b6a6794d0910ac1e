/**
 * The agent's side of enrollment without a TPM: checking the certificate
 * the server issued before keeping it, the server URL, and the state
 * directory module (records validated, secrets owner-only, certificate
 * matched to the key).
 */
import { createPrivateKey } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptIssuedCertificate } from '../agent/src/enroll/issued-certificate.js';
import { EnrollmentError, parseServerUrl } from '../agent/src/enroll/index.js';
import { loadEnrolledIdentity, readEnrollment, saveEnrollment, StateError, statePaths, type EnrollmentRecord } from '../agent/src/state/index.js';
import type { FleetCa } from '../server/src/pki/index.js';
import { makeFleetCa, makeForeignCa, makeTempDir, rsaKeyPem, sharedKeyPem } from './harness/pki.js';

let ca: FleetCa;
let tmp: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  ca = await makeFleetCa();
  tmp = await makeTempDir('vigil-enroll-agent-');
});

afterAll(async () => {
  await tmp.cleanup();
});

function failureOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EnrollmentError) return err.failure;
    throw err;
  }
  throw new Error('expected an EnrollmentError');
}

describe('acceptIssuedCertificate', () => {
  const keyPem = sharedKeyPem();
  const issue = (deviceId = 'cam-1', key = keyPem) => ca.issueDeviceCertificate({ publicKey: createPrivateKey(key), deviceId });

  it('accepts a certificate for our key from the fleet CA, and reports its serial in the server’s form', () => {
    // Serials whose first hex digit is 0 are where a naive conversion would differ from the store's.
    for (let i = 0; i < 400; i++) {
      const issued = issue();
      const accepted = acceptIssuedCertificate(issued.pem, keyPem, ca.certificatePem, 'cam-1', Date.now());
      expect(accepted.serial).toBe(issued.serial);
      expect(accepted.notAfter).toBe(Math.floor(issued.notAfter.getTime() / 1000) * 1000);
      if (issued.serial.startsWith('0')) return;
    }
    throw new Error('no serial with a leading zero digit in 400 certificates');
  });

  it('refuses a certificate for another key, from another CA, for another device, or not valid now', async () => {
    const issued = issue();
    const foreign = await makeForeignCa(ca); // same subject as the fleet CA: only the signature differs
    expect(failureOf(() => acceptIssuedCertificate(issue('cam-1', rsaKeyPem()).pem, keyPem, ca.certificatePem, 'cam-1', Date.now()))).toBe('protocol');
    expect(failureOf(() => acceptIssuedCertificate(issued.pem, keyPem, foreign.certificatePem, 'cam-1', Date.now()))).toBe('protocol');
    expect(failureOf(() => acceptIssuedCertificate(issued.pem, keyPem, ca.certificatePem, 'cam-2', Date.now()))).toBe('protocol');
    expect(failureOf(() => acceptIssuedCertificate(issued.pem, keyPem, ca.certificatePem, 'cam-1', Date.now() + 2 * 86_400_000))).toBe('protocol');
  });
});

describe('parseServerUrl', () => {
  it('takes mqtts://HOST[:PORT] only', () => {
    expect(parseServerUrl('mqtts://vigil.example')).toEqual({ host: 'vigil.example', port: 8883 });
    expect(parseServerUrl('mqtts://10.0.0.7:1883')).toEqual({ host: '10.0.0.7', port: 1883 });
    expect(parseServerUrl('mqtts://[::1]:8883')).toEqual({ host: '::1', port: 8883 });
    for (const bad of ['mqtt://vigil.example', 'https://vigil.example', 'vigil.example:8883', 'mqtts://u:p@vigil.example', 'mqtts://vigil.example/path', 'mqtts://vigil.example:99999']) {
      expect(failureOf(() => parseServerUrl(bad)), bad).toBe('usage');
    }
  });
});

describe('state directory', () => {
  const record = (deviceId: string, serial: string): EnrollmentRecord => ({
    v: 1,
    deviceId,
    server: 'mqtts://localhost:8883',
    bootstrapId: 'ab'.repeat(32),
    enrolledAt: Date.now(),
    certificate: { serial, notAfter: Date.now() + 3_600_000 },
    tpm: { ekKind: 'rsa', ekName: '000b' + 'cd'.repeat(32), akKind: 'rsa', akName: '000b' + 'ef'.repeat(32) },
  });

  it('saves an enrollment and loads it back as the identity to connect with', async () => {
    const dir = join(tmp.path, 'enrolled');
    await mkdir(dir, { recursive: true });
    const keyPem = rsaKeyPem();
    await writeFile(statePaths(dir).key, keyPem, { mode: 0o600 });
    const issued = ca.issueDeviceCertificate({ publicKey: createPrivateKey(keyPem), deviceId: 'cam-9' });
    await saveEnrollment(dir, { record: record('cam-9', issued.serial), certificatePem: issued.pem, caPem: ca.certificatePem });
    const identity = await loadEnrolledIdentity(dir);
    expect(identity.deviceId).toBe('cam-9');
    expect(identity.caPem).toBe(ca.certificatePem);

    // A key others can read is refused; so is a certificate that is not for the key.
    await chmod(statePaths(dir).key, 0o644);
    await expect(loadEnrolledIdentity(dir)).rejects.toMatchObject({ code: 'insecure' });
    await chmod(statePaths(dir).key, 0o600);
    await writeFile(statePaths(dir).deviceCertificate, ca.issueDeviceCertificate({ publicKey: createPrivateKey(rsaKeyPem()), deviceId: 'cam-9' }).pem);
    await expect(loadEnrolledIdentity(dir)).rejects.toMatchObject({ code: 'malformed' });
  });

  it('reads no enrollment from an empty directory, and refuses a malformed record', async () => {
    const dir = join(tmp.path, 'records');
    expect(await readEnrollment(dir)).toBeUndefined();
    await expect(loadEnrolledIdentity(dir)).rejects.toMatchObject({ code: 'missing' });
    await mkdir(dir, { recursive: true });
    await writeFile(statePaths(dir).enrollment, '{"v":1,"deviceId":"Not An Id"}');
    const err = await readEnrollment(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as StateError).code).toBe('malformed');
    await writeFile(statePaths(dir).enrollment, 'not json');
    await expect(readEnrollment(dir)).rejects.toMatchObject({ code: 'malformed' });
    await expect(saveEnrollment(dir, { record: { ...record('cam-9', '0a'), v: 2 } as unknown as EnrollmentRecord, certificatePem: '', caPem: '' })).rejects.toMatchObject({ code: 'malformed' });
  });
});
