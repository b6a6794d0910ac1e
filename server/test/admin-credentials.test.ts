import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { LogCapture } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeFleetCa, makeForeignCa, makeTempDir } from '../../test/harness/pki.js';
import { ensureLocalCredential, issueLocalCredential } from '../src/admin/local/credential.js';
import { loadClientCredential } from '../src/admin/local/credential-files.js';
import { adminPaths } from '../src/admin/local/paths.js';
import { processAlive, readRunFile, removeRunFile, writeRunFile, type RunFile } from '../src/admin/local/run-file.js';
import { dataDir, type DataDir } from '../src/datadir.js';
import { createServerMetrics } from '../src/metrics.js';
import { ADMIN_ROLES, adminIdentityFromCertificate, days, hours, PkiError, type FleetCa } from '../src/pki/index.js';
import { signCertificate, subjectAltName } from '../src/pki/forge-certificate.js';
import { openSqliteStore, type Store } from '../src/store/index.js';

/** Admin certificates, the local credential, the run file and the metrics registry, each against real files and a real store. */

let tmp: { path: string; cleanup: () => Promise<void> };
let ca: FleetCa;
let shared: ReturnType<typeof generateKeyPair> | undefined;
/** One key for the certificates whose key does not matter (generateKeyPair in tpm2-ts: issuing exports it, which can deadlock in Node 20 for a key straight from node's generation). */
const publicKey = () => (shared ??= generateKeyPair({ type: 'rsa', modulusLength: 2048 })).publicKey;

beforeAll(async () => {
  tmp = await makeTempDir('vigil-admin-cred-');
  ca = await makeFleetCa();
});
afterAll(async () => tmp.cleanup());

describe('admin certificates', () => {
  it('carry the name and role as SAN URIs, clientAuth only, not a CA; the identity reads back for every role', () => {
    for (const role of ADMIN_ROLES) {
      const issued = ca.issueAdminCertificate({ publicKey: publicKey(), name: 'alice', role, validityMs: days(30) });
      const cert = new X509Certificate(issued.pem);
      expect(cert.subjectAltName).toBe(`URI:urn:vigil:admin:alice, URI:urn:vigil:role:${role}`);
      expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
      expect(cert.ca).toBe(false);
      expect(cert.verify(ca.certificate.publicKey)).toBe(true);
      expect(cert.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(issued.serial.replace(/^0+/, ''));
      expect(adminIdentityFromCertificate(issued.pem)).toEqual({ name: 'alice', role });
    }
  });

  it('refuses bad names, roles and lifetimes', () => {
    const attempts = [
      { name: 'Alice', role: 'admin' },
      { name: 'a/b', role: 'admin' },
      { name: 'alice', role: 'root' },
      { name: 'alice', role: 'admin', validityMs: days(3651) },
    ] as const;
    for (const a of attempts) {
      expect(() => ca.issueAdminCertificate({ publicKey: publicKey(), ...a } as Parameters<FleetCa['issueAdminCertificate']>[0])).toThrow(PkiError);
    }
  });

  it('a certificate is an admin credential only with exactly one admin and one role URI, a known role and no device URI', () => {
    publicKey();
    const key = shared!;
    const make = (uris: string[]) =>
      signCertificate(
        {
          serial: '01',
          subject: [{ shortName: 'CN', value: 'x' }],
          issuer: [{ shortName: 'CN', value: 'x' }],
          publicKey: key.publicKey,
          notBefore: new Date(Date.now() - 1000),
          notAfter: new Date(Date.now() + hours(1)),
          extensions: [subjectAltName({ uri: uris })],
        },
        key.privateKey,
      );
    const refused: Array<[string, string[]]> = [
      ['no URI', []],
      ['no role', ['urn:vigil:admin:alice']],
      ['no name', ['urn:vigil:role:admin']],
      ['two roles', ['urn:vigil:admin:alice', 'urn:vigil:role:viewer', 'urn:vigil:role:admin']],
      ['two names', ['urn:vigil:admin:alice', 'urn:vigil:admin:bob', 'urn:vigil:role:viewer']],
      ['unknown role', ['urn:vigil:admin:alice', 'urn:vigil:role:root']],
      ['bad name', ['urn:vigil:admin:Alice Smith', 'urn:vigil:role:viewer']],
      ['also a device', ['urn:vigil:admin:alice', 'urn:vigil:role:admin', 'urn:vigil:device:cam-1']],
    ];
    for (const [what, uris] of refused) {
      expect(() => adminIdentityFromCertificate(make(uris)), what).toThrow(expect.objectContaining({ code: 'no-admin-identity' }));
    }
    expect(adminIdentityFromCertificate(make(['urn:vigil:role:operator', 'urn:vigil:admin:bob']))).toEqual({ name: 'bob', role: 'operator' });
    expect(() => adminIdentityFromCertificate(makeDeviceCredentials(ca, 'cam-1').certPem)).toThrow(expect.objectContaining({ code: 'no-admin-identity' }));
  });
});

describe('the local admin credential', () => {
  let paths: DataDir;
  let store: Store;
  const logs = new LogCapture();
  const validityMs = days(397);

  beforeEach(async () => {
    paths = dataDir(join(tmp.path, `data-${Math.random().toString(36).slice(2)}`));
    await mkdir(paths.root, { mode: 0o700 });
    store = await openSqliteStore(paths.database);
    return async () => store.close();
  });

  async function serial(): Promise<string> {
    const { certificatePem } = await loadClientCredential(paths);
    return new X509Certificate(certificatePem).serialNumber.toLowerCase();
  }

  it('is issued when missing: key 0600 in a 0700 directory, role admin, recorded and audited', async () => {
    expect(await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger })).toBe('issued');
    const files = adminPaths(paths);
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    expect((await stat(files.credentialDir)).mode & 0o777).toBe(0o700);
    const credential = await loadClientCredential(paths);
    expect(credential.caPem).toBe(ca.certificatePem);
    const cert = new X509Certificate(credential.certificatePem);
    expect(cert.checkPrivateKey(createPrivateKey(credential.keyPem))).toBe(true);
    expect(adminIdentityFromCertificate(cert)).toEqual({ name: 'local', role: 'admin' });
    const records = await store.listAdminCredentials();
    expect(records).toHaveLength(1);
    expect(records[0]!.serial.replace(/^0+/, '')).toBe((await serial()).replace(/^0+/, ''));
    expect((await store.listAudit()).at(-1)).toMatchObject({ actor: 'server', action: 'admin.issue', subject: 'admin:local' });
  });

  it('is kept while sound, and reissued near expiry, when foreign, unreadable or unknown to the store', async () => {
    await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger });
    const first = await serial();
    expect(await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger })).toBe('kept');
    expect(await serial()).toBe(first);

    expect(await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger, now: Date.now() + days(380) })).toBe('issued');
    const second = await serial();
    expect(second).not.toBe(first);

    const foreign = await makeForeignCa(ca);
    await issueLocalCredential(paths, foreign, store, { validityMs, actor: 'test' });
    expect(await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger })).toBe('issued');
    expect(new X509Certificate((await loadClientCredential(paths)).certificatePem).verify(ca.certificate.publicKey)).toBe(true);

    await writeFile(adminPaths(paths).certificate, 'not a certificate');
    expect(await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger })).toBe('issued');

    const otherStore = await openSqliteStore(join(paths.root, 'other.db'));
    try {
      expect(await ensureLocalCredential(paths, ca, otherStore, { validityMs, log: logs.logger })).toBe('issued');
    } finally {
      await otherStore.close();
    }
  });

  it('stays revoked when an administrator revoked it', async () => {
    await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger });
    const before = await readFile(adminPaths(paths).certificate, 'utf8');
    await store.revokeAdminCredentials({ name: 'local', actor: 'admin:alice' });
    expect(await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger })).toBe('revoked');
    expect(await readFile(adminPaths(paths).certificate, 'utf8')).toBe(before);
    expect(logs.lines.some((l) => l.msg?.includes('local admin credential is revoked'))).toBe(true);
  });

  it('is not loaded when its key file is readable by others', async () => {
    await ensureLocalCredential(paths, ca, store, { validityMs, log: logs.logger });
    const { chmod } = await import('node:fs/promises');
    await chmod(adminPaths(paths).key, 0o644);
    await expect(loadClientCredential(paths)).rejects.toMatchObject({ code: 'insecure-key-file' });
  });
});

describe('the run file', () => {
  const content = (over: Partial<RunFile> = {}): RunFile => ({
    pid: process.pid,
    host: '127.0.0.1',
    port: 8443,
    certificateSha256: Array.from({ length: 32 }, () => 'AB').join(':'),
    startedAt: new Date().toISOString(),
    ...over,
  });

  it('round-trips, and anything malformed reads as no file', async () => {
    const files = adminPaths(dataDir(join(tmp.path, 'run-a')));
    expect(await readRunFile(files)).toBeUndefined();
    await writeRunFile(files, content());
    expect(await readRunFile(files)).toEqual(content({ startedAt: (await readRunFile(files))!.startedAt }));
    expect((await stat(files.runDir)).mode & 0o777).toBe(0o700);
    for (const junk of ['', '{', 'null', '[]', '{"pid":1}', JSON.stringify({ ...content(), port: 70000 }), JSON.stringify({ ...content(), extra: 1 }), 'x'.repeat(10_000)]) {
      await writeFile(files.runFile, junk);
      expect(await readRunFile(files), junk.slice(0, 40)).toBeUndefined();
    }
  });

  it('is removed only by the server that wrote it', async () => {
    const files = adminPaths(dataDir(join(tmp.path, 'run-b')));
    await writeRunFile(files, content({ port: 9000 }));
    await removeRunFile(files, { pid: process.pid, port: 9001 });
    await removeRunFile(files, { pid: process.pid + 1, port: 9000 });
    expect(await readRunFile(files)).toBeDefined();
    await removeRunFile(files, { pid: process.pid, port: 9000 });
    expect(await readRunFile(files)).toBeUndefined();
  });

  it('tells live processes from gone ones', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(1)).toBe(true); // init: alive even when not ours (EPERM)
    expect(processAlive(2 ** 22 + 12_345)).toBe(false); // above Linux's pid_max
  });
});

describe('server metrics', () => {
  it('start with zero series for every status, reason and event, and count through typed handles', async () => {
    const metrics = createServerMetrics({ connectedClients: () => ({ devices: 0, bootstrap: 0 }) });
    const text = await metrics.registry.metrics();
    for (const s of ['none', 'affirming', 'warning', 'contraindicated']) expect(text).toContain(`vigil_verdicts_total{status="${s}"} 0`);
    for (const r of ['contraindicated', 'stale', 'admin']) expect(text).toContain(`vigil_revocations_total{reason="${r}"} 0`);
    for (const e of ['sent', 'expired']) expect(text).toContain(`vigil_challenges_total{event="${e}"} 0`);
    metrics.revocations.inc('stale');
    metrics.challenges.inc('sent', 5);
    metrics.enrollments.inc('token-expired');
    const stop = metrics.pipelineLatency.startTimer();
    stop();
    const after = await metrics.registry.metrics();
    expect(after).toContain('vigil_revocations_total{reason="stale"} 1');
    expect(after).toContain('vigil_challenges_total{event="sent"} 5');
    expect(after).toContain('vigil_enrollments_total{outcome="token-expired"} 1');
    expect(after).toMatch(/^vigil_verification_duration_seconds_count 1$/m);
    // Counts accumulate between scrapes and are not reset by one; a counter never goes down.
    metrics.challenges.inc('sent');
    metrics.challenges.inc('expired', 2);
    const later = await metrics.registry.metrics();
    expect(later).toContain('vigil_challenges_total{event="sent"} 6');
    expect(later).toContain('vigil_challenges_total{event="expired"} 2');
    expect(later).toContain('vigil_revocations_total{reason="stale"} 1');
    expect(() => metrics.verdicts.inc('affirming', -1)).toThrow(RangeError);
    expect(() => metrics.verdicts.inc('affirming', Number.NaN)).toThrow(RangeError);
  });

  it('read connected clients at scrape time; two servers in one process keep separate registries', async () => {
    let now = { devices: 3, bootstrap: 1 };
    const a = createServerMetrics({ connectedClients: () => now });
    const b = createServerMetrics({ connectedClients: () => ({ devices: 0, bootstrap: 0 }) });
    expect(await a.registry.getSingleMetricAsString('vigil_connected_devices')).toMatch(/^vigil_connected_devices 3$/m);
    now = { devices: 7, bootstrap: 2 };
    expect(await a.registry.getSingleMetricAsString('vigil_connected_devices')).toMatch(/^vigil_connected_devices 7$/m);
    expect(await a.registry.getSingleMetricAsString('vigil_connected_bootstrap_clients')).toMatch(/^vigil_connected_bootstrap_clients 2$/m);
    a.verdicts.inc('warning');
    expect(await b.registry.metrics()).toContain('vigil_verdicts_total{status="warning"} 0');
  });
});
