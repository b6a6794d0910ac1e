import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { makeFleetCa, makeForeignCa, makeTempDir, rsaKeyPem } from '../../test/harness/pki.js';
import { dataDir } from '../src/datadir.js';
import {
  deviceIdFromCertificate,
  FleetCa,
  hours,
  loadFleetCaFiles,
  normalizeSerial,
  PkiError,
  randomSerial,
  readCrl,
  readCrlFile,
  reissueCrlFile,
  writeFleetCaFiles,
  writeSecretFile,
} from '../src/pki/index.js';
import { x509 } from '../src/pki/x509.js';

const run = promisify(execFile);

/** Runs openssl; resolves with exit code and combined output (never throws on a non-zero exit). */
async function openssl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('openssl', args);
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function pkiCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof PkiError) return err.code;
    throw err;
  }
}

let ca: FleetCa;
let tmp: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  ca = await makeFleetCa();
  tmp = await makeTempDir('vigil-pki-');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('fleet CA', () => {
  it('is a self-signed CA restricted to certificate and CRL signing, valid ten years by default', async () => {
    const before = Date.now();
    const fresh = await FleetCa.create({ keyBits: 2048 });
    const cert = fresh.certificate;
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    const lifetimeDays = (Date.parse(cert.validTo) - before) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(3649);
    expect(lifetimeDays).toBeLessThan(3651);

    const path = join(tmp.path, 'fresh-ca.pem');
    await writeFile(path, fresh.certificatePem);
    const { out } = await openssl(['x509', '-in', path, '-noout', '-text']);
    expect(out).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(out).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  it('writes its key 0600 and loads back the same CA', async () => {
    const paths = dataDir(join(tmp.path, 'ca-files'));
    await (await import('node:fs/promises')).mkdir(paths.root, { recursive: true });
    await writeFleetCaFiles(paths, ca);
    expect((await stat(paths.caKey)).mode & 0o777).toBe(0o600);
    const loaded = await loadFleetCaFiles(paths);
    expect(loaded.certificatePem).toBe(ca.certificatePem);
    // The loaded key signs certificates that the original CA certificate verifies.
    const issued = loaded.issueDeviceCertificate({ publicKey: createPrivateKey(rsaKeyPem()), deviceId: 'loaded-1' });
    expect(new X509Certificate(issued.pem).verify(ca.certificate.publicKey)).toBe(true);
  });

  it('refuses to load a CA key that group or others can read', async () => {
    const paths = dataDir(join(tmp.path, 'ca-files'));
    for (const mode of [0o640, 0o604, 0o660]) {
      await chmod(paths.caKey, mode);
      const err = await loadFleetCaFiles(paths).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PkiError);
      expect((err as PkiError).code).toBe('insecure-key-file');
      expect((err as PkiError).message).toContain('chmod 600');
    }
    await chmod(paths.caKey, 0o600);
  });

  it('writes secret files 0600 even under a permissive umask', async () => {
    const old = process.umask(0);
    try {
      const path = join(tmp.path, 'secret.key');
      await writeSecretFile(path, 'secret');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readFile(path, 'utf8')).toBe('secret');
    } finally {
      process.umask(old);
    }
  });

  it('refuses a private key that is not the certificate\'s', async () => {
    const other = await makeForeignCa(ca);
    expect(pkiCode(() => FleetCa.fromPem(ca.certificatePem, other.privateKeyPem()))).toBe('key-mismatch');
    expect(pkiCode(() => FleetCa.fromPem('not a certificate', ca.privateKeyPem()))).toBe('invalid-certificate');
    expect(pkiCode(() => FleetCa.fromPem(ca.certificatePem, 'not a key'))).toBe('invalid-key');
  });
});

describe('device certificates', () => {
  it('carries the device id in the SAN URI and CN, clientAuth only, 24 h by default, chained to the CA', async () => {
    const key = createPrivateKey(rsaKeyPem());
    const before = Date.now();
    const issued = ca.issueDeviceCertificate({ publicKey: key, deviceId: 'edge-cam-0042' });
    const after = Date.now();
    const cert = new X509Certificate(issued.pem);
    expect(cert.verify(ca.certificate.publicKey)).toBe(true);
    expect(cert.checkIssued(ca.certificate)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=edge-cam-0042');
    expect(cert.subjectAltName).toBe('URI:urn:vigil:device:edge-cam-0042');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(createPublicKey(key).export({ type: 'spki', format: 'der' }));
    // notAfter = issue time + 24 h, at X.509's one-second resolution.
    const notAfter = Date.parse(cert.validTo);
    expect(notAfter).toBeGreaterThanOrEqual(before + hours(24) - 1000);
    expect(notAfter).toBeLessThanOrEqual(after + hours(24));
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(before);
    expect(normalizeSerial(cert.serialNumber)).toBe(issued.serial);
    expect(deviceIdFromCertificate(issued.pem)).toBe('edge-cam-0042');

    const path = join(tmp.path, 'device.pem');
    await writeFile(path, issued.pem);
    const { out } = await openssl(['x509', '-in', path, '-noout', '-text']);
    expect(out).toContain('URI:urn:vigil:device:edge-cam-0042');
    expect(out).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
  });

  it('accepts the public key as KeyObject, SPKI PEM or SPKI DER and certifies that key', () => {
    const key = createPublicKey(createPrivateKey(rsaKeyPem()));
    const spkiDer = key.export({ type: 'spki', format: 'der' });
    for (const publicKey of [key, key.export({ type: 'spki', format: 'pem' }).toString(), new Uint8Array(spkiDer)]) {
      const cert = new X509Certificate(ca.issueDeviceCertificate({ publicKey, deviceId: 'd1' }).pem);
      expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spkiDer);
    }
  });

  it('gives every certificate a distinct positive 16-byte serial', () => {
    const serials = new Set<string>();
    const key = createPublicKey(createPrivateKey(rsaKeyPem()));
    for (let i = 0; i < 50; i++) {
      const issued = ca.issueDeviceCertificate({ publicKey: key, deviceId: 'same-device' });
      expect(normalizeSerial(new X509Certificate(issued.pem).serialNumber)).toBe(issued.serial);
      serials.add(issued.serial);
    }
    expect(serials.size).toBe(50);
    for (let i = 0; i < 10_000; i++) {
      const s = randomSerial();
      expect(s).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(s.startsWith('00')).toBe(false);
      serials.add(s);
    }
    expect(serials.size).toBe(10_050);
  });

  it('refuses keys node-forge cannot certify and unsafe device ids, with typed errors', () => {
    // generateKeyPair (tpm2-ts): the issuer reads an RSA key's asymmetricKeyDetails before refusing it, which in Node 20, as export
    // does, holds the lock of a key straight from node's generation while allocating (a deadlock if a GC destroys the job then).
    const ec = generateKeyPair({ type: 'ec', namedCurve: 'P-256' }).publicKey;
    expect(pkiCode(() => ca.issueDeviceCertificate({ publicKey: ec, deviceId: 'd1' }))).toBe('unsupported-key');
    const weak = generateKeyPair({ type: 'rsa', modulusLength: 1024 }).publicKey;
    expect(pkiCode(() => ca.issueDeviceCertificate({ publicKey: weak, deviceId: 'd1' }))).toBe('unsupported-key');
    expect(pkiCode(() => ca.issueDeviceCertificate({ publicKey: new Uint8Array([1, 2, 3]), deviceId: 'd1' }))).toBe('invalid-key');
    const key = createPublicKey(createPrivateKey(rsaKeyPem()));
    expect(pkiCode(() => ca.issueDeviceCertificate({ publicKey: key, deviceId: 'd1', validityMs: 0 }))).toBe('invalid-option');
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('', 'a/b', '+', '#', '$SYS', 'a b', 'A', 'x'.repeat(64), 'a\u0000', 'a,URI:x', '-lead')),
        (id) => {
          fc.pre(!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(id));
          expect(pkiCode(() => ca.issueDeviceCertificate({ publicKey: key, deviceId: id }))).toBe('invalid-device-id');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('deviceIdFromCertificate', () => {
  it('reads the SAN URI, never the CN, and is not fooled by a crafted dNSName', async () => {
    // A certificate from some other issuer whose CN and a DNS SAN both claim "victim".
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const crafted = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=victim',
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'x, URI:urn:vigil:device:victim' },
          { type: 'url', value: 'urn:vigil:device:attacker' },
        ]),
      ],
    });
    expect(deviceIdFromCertificate(crafted.toString('pem'))).toBe('attacker');
    const noUri = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=victim', keys, signingAlgorithm: alg });
    expect(pkiCode(() => deviceIdFromCertificate(noUri.toString('pem')))).toBe('no-device-identity');
    const two = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=a',
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'urn:vigil:device:a' }, { type: 'url', value: 'urn:vigil:device:b' }])],
    });
    expect(pkiCode(() => deviceIdFromCertificate(two.toString('pem')))).toBe('no-device-identity');
  });

  it('reads exactly the device URI that was encoded, whatever other SAN entries contain (property)', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    // Printable ASCII including the characters that matter to a text rendering: , " : space \ /
    const tricky = fc.string({ unit: fc.constantFrom(...'az09.-, ":\\/URI'.split('')), minLength: 1, maxLength: 40 });
    const deviceId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
    await fc.assert(
      fc.asyncProperty(fc.array(tricky, { maxLength: 3 }), fc.option(deviceId, { nil: undefined }), fc.array(tricky, { maxLength: 2 }), async (dns, id, otherUris) => {
        const names = [
          ...dns.map((value) => ({ type: 'dns' as const, value })),
          ...otherUris.map((value) => ({ type: 'url' as const, value: `x:${value}` })),
          ...(id !== undefined ? [{ type: 'url' as const, value: `urn:vigil:device:${id}` }] : []),
        ];
        const cert = await x509.X509CertificateGenerator.createSelfSigned({
          name: 'CN=prop',
          keys,
          signingAlgorithm: alg,
          extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
        });
        const pem = cert.toString('pem');
        if (id !== undefined) expect(deviceIdFromCertificate(pem)).toBe(id);
        else expect(pkiCode(() => deviceIdFromCertificate(pem))).toBe('no-device-identity');
      }),
      { numRuns: 60 },
    );
  });

  it('says no-device-identity for a CA-issued server certificate', () => {
    const server = ca.issueServerCertificate({ publicKey: createPrivateKey(rsaKeyPem()), sans: ['localhost', '127.0.0.1', '::1'], validityMs: hours(1) });
    expect(new X509Certificate(server.pem).subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(pkiCode(() => deviceIdFromCertificate(server.pem))).toBe('no-device-identity');
  });

  it('answers arbitrary bytes with a typed error, never a crash', () => {
    const valid = new X509Certificate(ca.issueDeviceCertificate({ publicKey: createPrivateKey(rsaKeyPem()), deviceId: 'fuzz' }).pem).raw;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          // mutate a real certificate: flip bytes and truncate
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(valid.length)).map(([i, x, cut]) => {
            const b = Buffer.from(valid);
            b[i] = b[i]! ^ x;
            return new Uint8Array(b.subarray(0, Math.max(cut, i + 1)));
          }),
        ),
        (bytes) => {
          try {
            const id = deviceIdFromCertificate(bytes);
            expect(id).toMatch(/^[a-z0-9][a-z0-9._-]{0,62}$/);
          } catch (err) {
            expect(err).toBeInstanceOf(PkiError);
            expect(['invalid-certificate', 'no-device-identity']).toContain((err as PkiError).code);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('answers every one-byte corruption of a real certificate with a typed error', () => {
    // Exhaustive where the property above samples: a damaged subjectAltName that
    // OpenSSL cannot render used to crash the fast path (subjectAltName null).
    const valid = new X509Certificate(ca.issueDeviceCertificate({ publicKey: createPrivateKey(rsaKeyPem()), deviceId: 'fuzz' }).pem).raw;
    const problems: string[] = [];
    for (let i = 0; i < valid.length; i++) {
      for (const mask of [0x01, 0xff]) {
        const bytes = Buffer.from(valid);
        bytes[i] = bytes[i]! ^ mask;
        try {
          deviceIdFromCertificate(new Uint8Array(bytes));
        } catch (err) {
          if (!(err instanceof PkiError)) problems.push(`byte ${i} ^ 0x${mask.toString(16)}: ${String(err)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('CRL', () => {
  it('is read by openssl, and openssl verify -crl_check rejects the revoked certificate and accepts the other', async () => {
    const revoked = ca.issueDeviceCertificate({ publicKey: createPrivateKey(rsaKeyPem()), deviceId: 'revoked-one' });
    const good = ca.issueDeviceCertificate({ publicKey: createPrivateKey(rsaKeyPem()), deviceId: 'good-one' });
    const dir = join(tmp.path, 'crl');
    await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
    const files = { ca: join(dir, 'ca.pem'), crl: join(dir, 'crl.pem'), revoked: join(dir, 'revoked.pem'), good: join(dir, 'good.pem') };
    await writeFile(files.ca, ca.certificatePem);
    await writeFile(files.revoked, revoked.pem);
    await writeFile(files.good, good.pem);
    await reissueCrlFile(files.crl, ca, [{ serial: revoked.serial, revokedAt: new Date(), reason: 'keyCompromise' }]);

    const text = await openssl(['crl', '-in', files.crl, '-noout', '-text']);
    expect(text.code, text.out).toBe(0);
    expect(text.out).toContain(`Serial Number: ${revoked.serial.toUpperCase()}`);
    expect(text.out).toContain('Key Compromise');
    expect(text.out).toMatch(/X509v3 CRL Number:\s+1\n/);
    expect(text.out).toContain('Next Update:');

    const rejected = await openssl(['verify', '-crl_check', '-CAfile', files.ca, '-CRLfile', files.crl, files.revoked]);
    expect(rejected.code).not.toBe(0);
    expect(rejected.out).toContain('certificate revoked');
    const accepted = await openssl(['verify', '-crl_check', '-CAfile', files.ca, '-CRLfile', files.crl, files.good]);
    expect(accepted.out).toContain(': OK');
    expect(accepted.code).toBe(0);
  });

  it('numbers each reissue higher than the last, across reloads of the CA', async () => {
    const path = join(tmp.path, 'numbered-crl.pem');
    const numbers: bigint[] = [];
    const serials = [randomSerial(), randomSerial()];
    for (let i = 0; i < 3; i++) {
      const reloaded = FleetCa.fromPem(ca.certificatePem, ca.privateKeyPem());
      await reissueCrlFile(path, reloaded, serials.slice(0, i).map((serial) => ({ serial, revokedAt: new Date() })));
      const summary = await readCrlFile(path, ca);
      numbers.push(summary!.crlNumber);
      expect([...summary!.revokedSerials].sort()).toEqual(serials.slice(0, i).sort());
    }
    expect(numbers[1]).toBeGreaterThan(numbers[0]!);
    expect(numbers[2]).toBeGreaterThan(numbers[1]!);
  });

  it('rejects a CRL signed by another CA', async () => {
    const foreign = await makeForeignCa(ca);
    const pem = await foreign.issueCrl([]);
    const err = await readCrl(pem, ca).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('invalid-crl');
  });
});
