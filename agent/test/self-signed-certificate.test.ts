import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { oid, time, unsignedInteger } from '../src/identity/der.js';
import { createSelfSignedCertificate } from '../src/identity/self-signed-certificate.js';

const run = promisify(execFile);
// generateKeyPair (tpm2-ts): the certificate embeds the exported public key, and a key straight from node's
// generation (or createPublicKey of one, which shares its lock) can deadlock on export in Node 20.
const keys = generateKeyPair({ type: 'rsa', modulusLength: 2048 });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-selfsigned-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;

describe('the bootstrap certificate (DER written by the agent)', () => {
  it('is a v3 self-signed certificate OpenSSL reads, with CA:FALSE and clientAuth only', async () => {
    const notBefore = new Date('2026-01-02T03:04:05Z');
    const pem = await createSelfSignedCertificate(keys, { commonName: 'vigil-bootstrap-0123456789abcdef', notBefore, notAfter: new Date('2027-01-02T03:04:05Z') });
    const file = join(dir, 'cert.pem');
    await writeFile(file, pem);
    const { stdout } = await run('openssl', ['x509', '-in', file, '-noout', '-text']);
    expect(stdout).toMatch(/Version: 3 \(0x2\)/);
    expect(stdout).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(stdout).toMatch(/Issuer: CN = vigil-bootstrap-0123456789abcdef/);
    expect(stdout).toMatch(/Subject: CN = vigil-bootstrap-0123456789abcdef/);
    expect(stdout).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(stdout).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    // No keyUsage: OpenSSL's self-issued check would want keyCertSign (see self-signed-certificate.ts).
    expect(stdout).not.toMatch(/X509v3 Key Usage/);
    // OpenSSL accepts it as its own issuer for a TLS client, as the broker's classification does.
    const verified = await run('openssl', ['verify', '-CAfile', file, '-purpose', 'sslclient', file]);
    expect(verified.stdout).toContain(': OK');
    const cert = new X509Certificate(pem);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(keys.publicKey)).toBe(true);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(keys.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(Date.parse(cert.validFrom)).toBe(notBefore.getTime());
  });

  it('round-trips any name and validity through node:crypto (UTCTime to 2049, GeneralizedTime from 2050)', async () => {
    const date = fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }), date, date, async (commonName, a, b) => {
        const [notBefore, notAfter] = a <= b ? [a, b] : [b, a];
        const cert = new X509Certificate(await createSelfSignedCertificate(keys, { commonName, notBefore, notAfter }));
        expect(cert.verify(keys.publicKey)).toBe(true);
        expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/); // 16 octets, positive
        expect(Date.parse(cert.validFrom)).toBe(seconds(notBefore));
        expect(Date.parse(cert.validTo)).toBe(seconds(notAfter));
        expect(time(notAfter)[0]).toBe(notAfter.getUTCFullYear() < 2050 ? 0x17 : 0x18);
      }),
      { numRuns: 60 },
    );
  });

  it('encodes INTEGERs minimally and OIDs in base 128 (X.690 §8.3, §8.19)', () => {
    expect(unsignedInteger(Buffer.of(0, 0, 0x7f))).toEqual(Buffer.of(0x02, 0x01, 0x7f));
    expect(unsignedInteger(Buffer.of(0x80))).toEqual(Buffer.of(0x02, 0x02, 0x00, 0x80));
    expect(unsignedInteger(Buffer.of(0, 0))).toEqual(Buffer.of(0x02, 0x01, 0x00));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const der = unsignedInteger(bytes);
        const value = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
        // Read back: long-form length when the content reaches 128 octets.
        const long = der[1]! & 0x80;
        const start = long ? 2 + (der[1]! & 0x7f) : 2;
        const content = der.subarray(start);
        expect(content[0]! & 0x80).toBe(0); // never negative
        expect(content.length === 1 || !(content[0] === 0 && (content[1]! & 0x80) === 0)).toBe(true); // minimal
        expect(BigInt('0x' + content.toString('hex'))).toBe(value);
      }),
    );
    // 1.2.840.113549.1.1.11 (sha256WithRSAEncryption) as every DER encoder writes it.
    expect(oid('1.2.840.113549.1.1.11').toString('hex')).toBe('06092a864886f70d01010b');
    expect(() => oid('1')).toThrow(RangeError);
  });
});
