/**
 * Certificate renewal after an affirming verdict: only in the last third of
 * the current certificate's validity, for the same key, recorded in the store.
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { createLogger } from '../src/log.js';
import { deviceIdFromCertificate, type FleetCa } from '../src/pki/index.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type Store } from '../src/store/index.js';
import { CertificateRenewal } from '../src/verifier/renewal.js';

const HOUR = 3_600_000;
let ca: FleetCa;
let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
// generateKeyPair (tpm2-ts): keys read back from the job's DER; exporting node's own generated KeyObjects can deadlock in Node 20.
const key = generateKeyPair({ type: 'rsa', modulusLength: 2048 });

beforeAll(async () => {
  ca = await makeFleetCa();
});
beforeEach(async () => {
  tmp = await makeTempDir('vigil-renewal-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + HOUR, actor: 'test' });
  const first = ca.issueDeviceCertificate({ publicKey: key.publicKey, deviceId: 'cam-1', validityMs: 24 * HOUR });
  await store.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: { id: 'cam-1', ekPublic: new Uint8Array(4), ekName: '000b' + 'aa'.repeat(32), akPublic: new Uint8Array(4), akName: '000b00', facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '0', tpm: { manufacturer: 'm', firmwareVersion: '0' } } },
    certificate: { serial: first.serial, notBefore: first.notBefore.getTime(), notAfter: first.notAfter.getTime(), pem: first.pem },
    actor: 'test',
  });
});
afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

function renewal(now: number): CertificateRenewal {
  return new CertificateRenewal({ store, ca, validityMs: 24 * HOUR, log: createLogger({ level: 'silent' }), now: () => now });
}

describe('CertificateRenewal', () => {
  it('renews in the last third of the validity, for the same key, and records the new certificate', async () => {
    const [current] = await store.listCertificates('cam-1');
    // Two thirds through: nothing yet.
    expect(await renewal(current!.notBefore + 15 * HOUR).renewIfDue('cam-1', current!.serial)).toBeUndefined();
    const pem = await renewal(current!.notBefore + 17 * HOUR).renewIfDue('cam-1', current!.serial);
    expect(pem).toBeDefined();
    const cert = new X509Certificate(pem!);
    expect(cert.verify(ca.certificate.publicKey)).toBe(true);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(key.publicKey.export({ type: 'spki', format: 'der' }));
    expect(deviceIdFromCertificate(pem!)).toBe('cam-1');
    const all = await store.listCertificates('cam-1');
    expect(all).toHaveLength(2);
    expect(all.find((c) => c.serial !== current!.serial)?.pem).toBe(pem);
    expect((await store.listAudit()).at(-1)).toMatchObject({ action: 'certificate.issue', actor: 'verifier' });
  });

  it('never for a revoked certificate, another device’s, or an unknown serial', async () => {
    const [current] = await store.listCertificates('cam-1');
    const late = renewal(current!.notBefore + 23 * HOUR);
    expect(await late.renewIfDue('cam-2', current!.serial)).toBeUndefined();
    expect(await late.renewIfDue('cam-1', 'abcdef')).toBeUndefined();
    await store.revokeDevice({ deviceId: 'cam-1', reason: 'admin', actor: 'test' });
    expect(await late.renewIfDue('cam-1', current!.serial)).toBeUndefined();
    expect(await store.listCertificates('cam-1')).toHaveLength(1);
  });

  it('remembers when a certificate falls due: no store read before then, the same answers as without', async () => {
    const [current] = await store.listCertificates('cam-1');
    let reads = 0;
    // The real store, with its certificate reads counted.
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'getCertificate') return (serial: string) => (reads++, target.getCertificate(serial));
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let now = current!.notBefore + HOUR;
    const r = new CertificateRenewal({ store: counted, ca, validityMs: 24 * HOUR, log: createLogger({ level: 'silent' }), now: () => now });
    expect(await r.renewIfDue('cam-1', current!.serial)).toBeUndefined();
    expect(reads).toBe(1);
    now = current!.notBefore + 15 * HOUR;
    expect(await r.renewIfDue('cam-1', current!.serial)).toBeUndefined();
    expect(reads).toBe(1);
    // Another device naming this serial is not answered from what was read for cam-1.
    expect(await r.renewIfDue('cam-2', current!.serial)).toBeUndefined();
    expect(reads).toBe(2);
    // Revoked before it fell due: still no renewal; once due the store is read and refuses it.
    await store.revokeDevice({ deviceId: 'cam-1', reason: 'admin', actor: 'test' });
    expect(await r.renewIfDue('cam-1', current!.serial)).toBeUndefined();
    now = current!.notBefore + 17 * HOUR;
    expect(await r.renewIfDue('cam-1', current!.serial)).toBeUndefined();
    expect(reads).toBe(3);
    expect(await store.listCertificates('cam-1')).toHaveLength(1);
  });

  it('renews as soon as the remembered time comes', async () => {
    const [current] = await store.listCertificates('cam-1');
    let now = current!.notBefore + HOUR;
    const r = new CertificateRenewal({ store, ca, validityMs: 24 * HOUR, log: createLogger({ level: 'silent' }), now: () => now });
    expect(await r.renewIfDue('cam-1', current!.serial)).toBeUndefined();
    now = Math.ceil(current!.notAfter - (current!.notAfter - current!.notBefore) / 3); // the first millisecond of the last third
    expect(await r.renewIfDue('cam-1', current!.serial)).toBeDefined();
    // A fresh instance (nothing remembered) agrees that a millisecond earlier was not yet due.
    now -= 1;
    expect(await renewal(now).renewIfDue('cam-1', current!.serial)).toBeUndefined();
    now += 1;
    expect(await store.listCertificates('cam-1')).toHaveLength(2);
  });
});
