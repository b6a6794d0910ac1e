// Large CRLs: @peculiar/x509 refuses to parse a CRL past ~1,600 entries
// ("Maximum ASN.1 node count exceeded"), and the server used to parse its CRL
// file at start, so a fleet with a few thousand revoked certificates could
// not start its server. Now the CRL is rebuilt from the store at start and
// on every revocation, and only its header (number, validity) is ever read.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/harness/broker.js';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { components } from '../src/app/components.js';
import { startVigilServer, type RunningServer } from '../src/app/index.js';
import { dataDir, type DataDir } from '../src/datadir.js';
import { days, FleetCa, loadFleetCaFiles, normalizeSerial, PkiError, readCrl, readCrlHeader } from '../src/pki/index.js';
import { Revocations } from '../src/revocation/service.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type Store } from '../src/store/index.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli/vigil-server.cjs', import.meta.url));
const DAY = 86_400_000;
/** Well past where @peculiar/x509 gives up (the test checks that it does). */
const REVOKED = 3000;

let tmp: { path: string; cleanup: () => Promise<void> };
let paths: DataDir;
let ca: FleetCa;
let revokedSerials: string[];
let oldCrlNumber: bigint;
let server: RunningServer | undefined;

function hex(n: number): string {
  return randomBytes(n).toString('hex');
}

/** A device enrolled straight into the store, as the registrar would record it. */
async function enrollDevice(store: Store, id: string): Promise<string> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + DAY, actor: 'test' });
  const serial = normalizeSerial(hex(16))!;
  const result = await store.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: { id, ekPublic: randomBytes(314), ekName: '000b' + hex(32), ekCertificate: null, akPublic: randomBytes(280), akName: '000b' + hex(32), facts: { hostname: 'h', os: 'linux', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'IBM', firmwareVersion: '1' } } },
    certificate: { serial, notBefore: Date.now(), notAfter: Date.now() + DAY, pem: 'PEM' },
    actor: 'registrar',
  });
  if (!result.ok) throw new Error(result.reason);
  return serial;
}

async function openssl(args: string[]): Promise<string> {
  const { stdout, stderr } = await run('openssl', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout + stderr;
}

/** The serials `openssl crl -text` lists, canonical. */
async function opensslSerials(crlPath: string): Promise<string[]> {
  const text = await openssl(['crl', '-in', crlPath, '-noout', '-text']);
  return [...text.matchAll(/Serial Number: ([0-9A-Fa-f]+)/g)].map((m) => normalizeSerial(m[1]!)!);
}

async function opensslCrlNumber(crlPath: string): Promise<bigint> {
  const text = await openssl(['crl', '-in', crlPath, '-noout', '-crlnumber']);
  const m = /crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(text);
  if (m === null) throw new Error(`no crlNumber in ${text}`);
  return BigInt('0x' + m[1]!);
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-crl-large-');
  paths = dataDir(join(tmp.path, 'data'));
  await run(process.execPath, [CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  ca = await loadFleetCaFiles(paths);

  // A fleet whose revocations add up: devices with a few hundred certificates each (renewals), then revoked.
  const store = await openSqliteStore(paths.database);
  try {
    revokedSerials = [];
    for (let d = 0; revokedSerials.length < REVOKED; d++) {
      const id = `cam-${d}`;
      const serials = [await enrollDevice(store, id)];
      for (let i = 1; i < 300; i++) {
        const serial = normalizeSerial(hex(16))!;
        await store.addCertificate({ serial, deviceId: id, notBefore: Date.now(), notAfter: Date.now() + DAY, pem: 'PEM' }, 'verifier');
        serials.push(serial);
      }
      const revoked = await store.revokeDevice({ deviceId: id, reason: 'contraindicated', actor: 'verifier' });
      if (!revoked.ok) throw new Error(revoked.reason);
      // The previous run applied its side effects (CRL, broker, event): nothing is left pending.
      await store.markRevocationEffectsApplied(revoked.revocation.id, Date.now());
      revokedSerials.push(...serials);
    }
    await enrollDevice(store, 'cam-live');
  } finally {
    await store.close();
  }

  // The CRL file as the previous run left it: every one of those serials, numbered ahead of this machine's
  // clock (as after a clock step back), which the next CRL must still exceed (RFC 5280 §5.2.3).
  oldCrlNumber = BigInt(Date.now() + 30 * DAY);
  const entries = revokedSerials.map((serial) => ({ serial, revokedAt: new Date(), reason: 'keyCompromise' as const }));
  await writeFile(paths.crl, await ca.issueCrl(entries, { crlNumber: oldCrlNumber, validityMs: days(7) }));
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await tmp.cleanup();
});

describe('a CRL of a few thousand entries', () => {
  it('is past what @peculiar/x509 parses (so the server must not parse it)', async () => {
    await expect(readCrl(await readFile(paths.crl, 'utf8'), ca)).rejects.toThrow(/node count/);
  });

  it('does not stop the server from starting: the CRL is rebuilt from the store, numbered past the old one, and openssl lists every revoked serial', async () => {
    const logs = new LogCapture();
    server = await startVigilServer({
      paths,
      overrides: [
        { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
        { path: 'listen.port', value: 0, flag: 'test' },
      ],
      components: components.filter((c) => c.name === 'revocation'),
      logger: logs.logger,
    });
    expect(logs.lines.some((l) => l.msg === 'CRL reissued' && l.entries === REVOKED)).toBe(true);

    expect(await openssl(['crl', '-in', paths.crl, '-noout', '-CAfile', paths.caCert])).toMatch(/verify OK/);
    expect((await opensslSerials(paths.crl)).sort()).toEqual([...revokedSerials].sort());
    const number = await opensslCrlNumber(paths.crl);
    expect(number > oldCrlNumber).toBe(true);
    expect(readCrlHeader(await readFile(paths.crl, 'utf8'), ca).crlNumber).toBe(number);
  });

  it('takes a revocation on top (the revoke path reads only the header): one more entry, a larger number', async () => {
    const before = await opensslCrlNumber(paths.crl);
    const live = (await server!.context.store.listCertificates('cam-live'))[0]!.serial;
    const outcome = await server!.context.services.get(Revocations)!.revoke('cam-live', 'admin', 'test');
    expect(outcome.ok).toBe(true);
    const listed = await opensslSerials(paths.crl);
    expect(listed).toHaveLength(REVOKED + 1);
    expect(listed).toContain(live);
    expect((await opensslCrlNumber(paths.crl)) > before).toBe(true);
  });
});

describe('readCrlHeader', () => {
  let other: FleetCa;
  beforeAll(async () => {
    other = await makeFleetCa('Another CA');
  });

  it('reads number, thisUpdate and nextUpdate as openssl does', async () => {
    const pem = await readFile(paths.crl, 'utf8');
    const header = readCrlHeader(pem, ca);
    const text = await openssl(['crl', '-in', paths.crl, '-noout', '-lastupdate', '-nextupdate']);
    const last = /lastUpdate=(.+)/.exec(text)![1]!;
    const next = /nextUpdate=(.+)/.exec(text)![1]!;
    expect(header.thisUpdate.getTime()).toBe(Date.parse(last));
    expect(header.nextUpdate?.getTime()).toBe(Date.parse(next));
  });

  it('refuses a CRL another CA signed, and anything that is not a CRL, with invalid-crl', async () => {
    const foreign = await other.issueCrl([], { crlNumber: 7n });
    for (const pem of [foreign, '', 'not a crl', '-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n']) {
      expect(() => readCrlHeader(pem, ca)).toThrow(PkiError);
    }
    expect(readCrlHeader(foreign, other).crlNumber).toBe(7n);
  });

  it('never throws anything but PkiError and never reads out of bounds, whatever the bytes (fast-check)', async () => {
    const valid = Buffer.from((await ca.issueCrl([{ serial: 'abcd', revokedAt: new Date() }], { crlNumber: 3n })).replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const asPem = (der: Uint8Array) => `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString('base64')}\n-----END X509 CRL-----\n`;
    expect(readCrlHeader(asPem(valid), ca).crlNumber).toBe(3n);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          // Mutations of a real CRL: bytes flipped, truncated, lengths lying.
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, b]) => {
            const copy = Uint8Array.from(valid);
            copy[at] = b;
            return copy;
          }),
          fc.nat(valid.length).map((n) => valid.subarray(0, n)),
        ),
        (der) => {
          try {
            readCrlHeader(asPem(der), ca);
          } catch (err) {
            if (!(err instanceof PkiError) || err.code !== 'invalid-crl') throw err;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
