/**
 * EK certificate trust: path building through the manufacturer CA bundle,
 * validity, critical extensions, extKeyUsage, forged issuers and hostile
 * DER; the key-match check; reading the bundle files.
 */
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { ConfigError } from '../src/config/errors.js';
import { certifiesKey } from '../src/registrar/ek-certificate.js';
import { EkTrustStore } from '../src/registrar/ek-trust.js';
import { issueEkCertificate, makeTestCa, type TestCa } from '../../test/harness/enrollment.js';

const DAY = 86_400_000;
// generateKeyPair (tpm2-ts) for every key here: issueEkCertificate and certifiesKey export them, which can deadlock
// in Node 20 for a key straight from node's generation.
const ek = generateKeyPair({ type: 'rsa', modulusLength: 2048 }).publicKey;
let root: TestCa;
let intermediate: TestCa;
let trusted: EkTrustStore;
let goodCert: Uint8Array;

beforeAll(async () => {
  root = await makeTestCa('Vendor EK Root');
  intermediate = await makeTestCa('Vendor EK Issuing CA', { issuer: root });
  trusted = EkTrustStore.fromPem([root.pem + intermediate.pem]);
  goodCert = await issueEkCertificate(intermediate, ek);
});

function message(check: ReturnType<EkTrustStore['verify']>): string {
  if (check.ok) throw new Error('expected a refusal');
  return check.message;
}

describe('EkTrustStore.verify', () => {
  it('accepts an EK certificate that chains through an intermediate to a root of the bundle', () => {
    const check = trusted.verify(goodCert, new Date());
    expect(check.ok).toBe(true);
    if (check.ok) expect(check.path.map((c) => c.subject)).toEqual(['CN=Vendor EK Issuing CA', 'CN=Vendor EK Root']);
    expect(trusted.size).toBe(2);
    expect(trusted.rootCount).toBe(1);
  });

  it('accepts one issued by the root directly, without extKeyUsage, or with anyExtendedKeyUsage', async () => {
    expect(trusted.verify(await issueEkCertificate(root, ek), new Date()).ok).toBe(true);
    expect(trusted.verify(await issueEkCertificate(intermediate, ek, { extendedKeyUsages: [] }), new Date()).ok).toBe(true);
    expect(trusted.verify(await issueEkCertificate(intermediate, ek, { extendedKeyUsages: ['2.5.29.37.0'] }), new Date()).ok).toBe(true);
  });

  it('refuses when the bundle lacks the intermediate, or lacks the root', () => {
    expect(message(EkTrustStore.fromPem([root.pem]).verify(goodCert, new Date()))).toContain('no manufacturer CA in the bundle issued it');
    expect(EkTrustStore.fromPem([intermediate.pem]).verify(goodCert, new Date()).ok).toBe(false);
  });

  it('refuses a certificate signed by an impostor CA with the same name as a trusted one', async () => {
    const impostor = await makeTestCa('Vendor EK Issuing CA');
    expect(message(trusted.verify(await issueEkCertificate(impostor, ek), new Date()))).toContain('issuer: CN=Vendor EK Issuing CA');
  });

  it('refuses expired and not-yet-valid EK certificates, and a chain through an expired intermediate', async () => {
    const now = Date.now();
    expect(message(trusted.verify(await issueEkCertificate(intermediate, ek, { notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }), new Date()))).toContain('expired');
    expect(message(trusted.verify(await issueEkCertificate(intermediate, ek, { notBefore: new Date(now + DAY) }), new Date()))).toContain('not valid before');
    const oldRoot = await makeTestCa('Long-lived Root', { notBefore: new Date(now - 10 * DAY) });
    const old = await makeTestCa('Old Issuing CA', { issuer: oldRoot, notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) });
    const store = EkTrustStore.fromPem([oldRoot.pem, old.pem]);
    expect(message(store.verify(await issueEkCertificate(old, ek), new Date()))).toContain('expired');
    // ...and the same chain is fine at a time when the intermediate was valid.
    expect(store.verify(await issueEkCertificate(old, ek, { notBefore: new Date(now - 3 * DAY) }), new Date(now - 2 * DAY)).ok).toBe(true);
  });

  it('refuses an unknown critical extension, an extKeyUsage without tcg-kp-EKCertificate, and a CA certificate', async () => {
    expect(message(trusted.verify(await issueEkCertificate(intermediate, ek, { criticalExtension: '1.3.6.1.4.1.99999.1' }), new Date()))).toContain('1.3.6.1.4.1.99999.1');
    expect(message(trusted.verify(await issueEkCertificate(intermediate, ek, { extendedKeyUsages: ['1.3.6.1.5.5.7.3.1'] }), new Date()))).toContain('tcg-kp-EKCertificate');
    expect(message(trusted.verify(await issueEkCertificate(intermediate, ek, { ca: true }), new Date()))).toContain('CA certificate');
  });

  it('answers any byte string, and every truncation or bit flip of a good certificate, without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(trusted.verify(bytes, new Date()).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat({ max: goodCert.length - 1 }), fc.integer({ min: 0, max: 7 }), fc.boolean(), (at, bit, truncate) => {
        const bytes = truncate ? goodCert.slice(0, at) : Uint8Array.from(goodCert, (b, i) => (i === at ? b ^ (1 << bit) : b));
        const check = trusted.verify(bytes, new Date());
        // A flip inside the signature or a field nobody reads can only leave it valid if it changed nothing signed.
        if (check.ok) expect(new X509Certificate(Buffer.from(bytes)).verify(new X509Certificate(intermediate.pem).publicKey)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('certifiesKey', () => {
  it('matches the certified key only', () => {
    const cert = new X509Certificate(Buffer.from(goodCert));
    expect(certifiesKey(cert.publicKey, ek)).toBe(true);
    expect(certifiesKey(cert.publicKey, generateKeyPair({ type: 'rsa', modulusLength: 2048 }).publicKey)).toBe(false);
    expect(certifiesKey(cert.publicKey, generateKeyPair({ type: 'ec', namedCurve: 'P-256' }).publicKey)).toBe(false);
  });
});

describe('EkTrustStore.fromFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-ek-trust-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads bundles, relative paths against the data directory', async () => {
    await writeFile(join(dir, 'roots.pem'), root.pem);
    await writeFile(join(dir, 'issuers.pem'), `some text\n${intermediate.pem}`);
    const store = await EkTrustStore.fromFiles(['roots.pem', join(dir, 'issuers.pem')], dir);
    expect(store.verify(goodCert, new Date()).ok).toBe(true);
  });

  it('names the configuration key for a missing file or one without a CA certificate', async () => {
    const missing = await EkTrustStore.fromFiles(['absent.pem'], dir).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).path).toBe('enrollment.manufacturerCaFiles');
    await writeFile(join(dir, 'empty.pem'), 'no certificates here\n');
    const empty = await EkTrustStore.fromFiles(['empty.pem'], dir).catch((e: unknown) => e);
    expect((empty as ConfigError).message).toContain('holds no CA certificate');
  });
});
