import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ear, EarStatus } from '@vigil/protocol';
import { closed, connectClient, connectOk, LogCapture } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeForeignCa, makeTempDir } from '../../test/harness/pki.js';
import { AdminApi, adminApiComponent, type AdminApiEndpoint } from '../src/admin/api/component.js';
import { invokeOperation } from '../src/admin/cli/invoke.js';
import { AdminClient } from '../src/admin/client/admin-client.js';
import { loadClientCredential, type ClientCredential } from '../src/admin/local/credential-files.js';
import { adminPaths } from '../src/admin/local/paths.js';
import { readRunFile } from '../src/admin/local/run-file.js';
import { decodeInput } from '../src/admin/operations/input.js';
import { defineOperation } from '../src/admin/operations/operation.js';
import { issueAdminCredential } from '../src/admin/operations/admins/issue.js';
import { findOperation, operations } from '../src/admin/operations/registry.js';
import { ROLES, roleAllows, type Role } from '../src/admin/roles.js';
import { components as serverComponents } from '../src/app/components.js';
import { startVigilServer, type RunningServer } from '../src/app/index.js';
import { dataDir, type DataDir } from '../src/datadir.js';
import { hours, type FleetCa } from '../src/pki/index.js';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../src/store/index.js';
import Type from 'typebox';

/**
 * The admin API end to end: `vigil-server init` (the built CLI), the server
 * started in-process with the admin API component, real HTTPS with real
 * client certificates from the fleet CA (and from a foreign one), the built
 * CLI talking to it, and the same CLI on the database once it has stopped.
 */

const CLI = fileURLToPath(new URL('../dist/cli/vigil-server.cjs', import.meta.url));
const ENV = { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048', VIGIL_DATA: '' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI, asynchronously: the in-process server keeps serving while it runs. */
function vigil(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: ENV, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

let tmp: { path: string; cleanup: () => Promise<void> };
let paths: DataDir;
let server: RunningServer | undefined;
let logs: LogCapture;
let endpoint: AdminApiEndpoint;
let ca: FleetCa;
let store: Store;
let local: AdminClient;
const clients = new Map<Role, AdminClient>();
const credentials = new Map<Role, ClientCredential>();

function rsaKey() {
  // PEM from the generating job itself: exporting its KeyObjects can deadlock in Node 20 (generateKeyPair in tpm2-ts).
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { keyPem: privateKey, publicKeyPem: publicKey };
}

/** A new admin credential through the API (as the local admin), recorded by the server. */
async function issue(name: string, role: Role): Promise<ClientCredential & { serial: string }> {
  const key = rsaKey();
  const out = (await local.call(issueAdminCredential, { name, role, publicKeyPem: key.publicKeyPem, validityDays: 30 })) as {
    credential: { serial: string };
    certificatePem: string;
    caCertificatePem: string;
  };
  return { certificatePem: out.certificatePem, keyPem: key.keyPem, caPem: out.caCertificatePem, serial: out.credential.serial };
}

function clientWith(credential: Pick<ClientCredential, 'caPem'> & Partial<ClientCredential>): AdminClient {
  return new AdminClient(endpoint, credential as ClientCredential);
}

async function auditTail(n = 1) {
  const all = await store.listAudit({ limit: 100_000 });
  return all.slice(-n);
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-admin-api-');
  paths = dataDir(join(tmp.path, 'data'));
  const init = await vigil('init', '--data', paths.root);
  expect(init.code, init.stderr).toBe(0);
  logs = new LogCapture('debug');
  server = await startVigilServer({
    paths,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
      { path: 'listen.port', value: 0, flag: 'test' },
      { path: 'admin.port', value: 0, flag: 'test' },
    ],
    // The components admin operations use (revocation and the webhook it notifies) and the admin API itself;
    // not the verifier and staleness monitor, whose schedules would change devices under the test.
    components: [...serverComponents.filter((c) => c.name === 'webhook' || c.name === 'revocation'), { name: 'admin-api', load: async () => adminApiComponent }],
    logger: logs.logger,
  });
  endpoint = server.context.services.get(AdminApi)!;
  ca = server.context.ca;
  store = server.context.store;
  local = new AdminClient(endpoint, await loadClientCredential(paths));
  for (const role of ROLES) {
    const c = await issue(`${role}-1`, role);
    credentials.set(role, c);
    clients.set(role, clientWith(c));
  }
});

afterAll(async () => {
  await server?.stop();
  await tmp?.cleanup();
});

describe('admin API: listener and local credential', () => {
  it('announces itself in DIR/run/admin.json and the ready line; the local credential is 0600 in a 0700 directory', async () => {
    const run = await readRunFile(adminPaths(paths));
    expect(run).toMatchObject({ pid: process.pid, host: '127.0.0.1', port: endpoint.port, certificateSha256: endpoint.certificateSha256 });
    const ready = logs.lines.find((l) => l.msg === 'vigil-server ready')!;
    expect(ready['adminPort']).toBe(endpoint.port);
    const files = adminPaths(paths);
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    expect((await stat(files.credentialDir)).mode & 0o777).toBe(0o700);
    const localRecord = (await store.listAdminCredentials()).find((c) => c.name === 'local')!;
    expect(localRecord).toMatchObject({ role: 'admin', revokedAt: null });
  });

  it('answers /healthz and /readyz without a client certificate, and nothing else', async () => {
    const anonymous = clientWith({ caPem: ca.certificatePem });
    expect(JSON.parse((await anonymous.request('GET', '/healthz')).text)).toEqual({ status: 'ok' });
    const ready = await anonymous.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ready', checks: { store: true, broker: true } });
    for (const path of ['/v1/devices', '/openapi.json', '/metrics', '/v1/no-such-route']) {
      const r = await anonymous.request('GET', path);
      expect(r.status, path).toBe(401);
      expect(JSON.parse(r.text)).toMatchObject({ error: 'unauthenticated' });
    }
  });

  it('speaks TLS 1.3 only: a TLS 1.2 client cannot connect', async () => {
    const c = credentials.get('admin')!;
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        { host: endpoint.host, port: endpoint.port, path: '/healthz', ca: c.caPem, cert: c.certificatePem, key: c.keyPem, maxVersion: 'TLSv1.2', agent: false, checkServerIdentity: () => undefined },
        (res) => resolve(`status ${res.statusCode}`),
      );
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error .*(version|protocol)/i);
  });
});

describe('admin API: who may call', () => {
  it('refuses a certificate from a foreign CA, a device certificate, an unrecorded, an expired and a revoked admin certificate', async () => {
    const foreign = await makeForeignCa(ca);
    const key = rsaKey();
    const fromForeign = foreign.issueAdminCertificate({ publicKey: key.publicKeyPem, name: 'admin-1', role: 'admin', validityMs: hours(1) });
    const device = makeDeviceCredentials(ca, 'cam-1');
    const unrecorded = ca.issueAdminCertificate({ publicKey: key.publicKeyPem, name: 'admin-1', role: 'admin', validityMs: hours(1) });
    const expired = ca.issueAdminCertificate({ publicKey: key.publicKeyPem, name: 'old', role: 'admin', validityMs: hours(1), now: new Date(Date.now() - hours(3)) });
    await store.addAdminCredential({ serial: expired.serial, name: 'old', role: 'admin', notBefore: expired.notBefore.getTime(), notAfter: expired.notAfter.getTime(), actor: 'test' });

    const cases: Array<[string, ClientCredential, RegExp]> = [
      ['foreign CA', { certificatePem: fromForeign.pem, keyPem: key.keyPem, caPem: ca.certificatePem }, /refused|fleet CA/],
      ['device', { certificatePem: device.certPem, keyPem: device.keyPem, caPem: ca.certificatePem }, /not an admin certificate/],
      ['unrecorded', { certificatePem: unrecorded.pem, keyPem: key.keyPem, caPem: ca.certificatePem }, /not issued by this server/],
      ['expired', { certificatePem: expired.pem, keyPem: key.keyPem, caPem: ca.certificatePem }, /expired/i],
    ];
    for (const [what, credential, reason] of cases) {
      const r = await clientWith(credential).request('GET', '/v1/devices');
      expect(r.status, what).toBe(401);
      const body = JSON.parse(r.text) as { error: string; message: string };
      expect(body.error, what).toBe('unauthenticated');
      expect(body.message, what).toMatch(reason);
    }
  });

  it('a revocation takes effect on the next request, even on a connection that stays open', async () => {
    const c = await issue('short-lived', 'viewer');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; socketReused: boolean }>((resolve, reject) => {
        const req = request(
          { host: endpoint.host, port: endpoint.port, path: '/v1/tokens', agent, ca: c.caPem, cert: c.certificatePem, key: c.keyPem, checkServerIdentity: () => undefined },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, socketReused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      expect((await get()).status).toBe(200);
      const revoked = (await clients.get('admin')!.call(findOperation('admins.revoke')!, { name: 'short-lived' })) as { revoked: Array<{ serial: string }> };
      expect(revoked.revoked.map((r) => r.serial)).toEqual([c.serial]);
      const after = await get();
      expect(after.socketReused).toBe(true);
      expect(after.status).toBe(401);
      expect((await auditTail())[0]).toMatchObject({ actor: 'admin:admin-1', action: 'admin.revoke', subject: 'admin:short-lived' });
    } finally {
      agent.destroy();
    }
  });

  it('enforces each operation’s role: a lower role gets 403 (mutations refused are audited, nothing changes), enough role is never refused', async () => {
    const tokensBefore = (await store.listTokens()).length;
    const credentialsBefore = (await store.listAdminCredentials()).length;
    for (const op of operations) {
      const input = sampleInput(op.name, op.input);
      for (const role of ROLES) {
        const auditBefore = (await auditTail())[0]!.seq;
        let status = 200;
        try {
          await clients.get(role)!.call(op, input);
        } catch (err) {
          status = (err as { status?: number }).status ?? -1;
        }
        const label = `${role} → ${op.name}`;
        if (roleAllows(role, op.role)) {
          expect([401, 403], label).not.toContain(status);
          continue;
        }
        expect(status, label).toBe(403);
        const after = await store.listAudit({ afterSeq: auditBefore });
        if (op.mutating) {
          expect(after, label).toEqual([expect.objectContaining({ actor: `admin:${role}-1`, action: 'api.deny', subject: `operation:${op.name}` })]);
        } else {
          expect(after, label).toEqual([]);
        }
      }
    }
    // Only the admin's calls changed anything: one token, one credential.
    expect((await store.listTokens()).length).toBe(tokensBefore + 1);
    expect((await store.listAdminCredentials()).length).toBe(credentialsBefore + 1);
  });

  it('a viewer cannot revoke a device; an operator can, and the broker drops its session at once', async () => {
    const revoke = findOperation('devices.revoke')!;
    const device = makeDeviceCredentials(ca, 'cam-r');
    await enrollFakeDevice('cam-r', { serial: device.serial, pem: device.certPem });
    const client = await connectOk(server!.port, ca.certificatePem, device, 'cam-r');
    const gone = closed(client);

    await expect(clients.get('viewer')!.call(revoke, { id: 'cam-r', reason: 'viewer tries' })).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    expect((await store.getDevice('cam-r'))!.revoked).toBe(false);
    expect(client.connected).toBe(true);
    expect((await auditTail())[0]).toMatchObject({ actor: 'admin:viewer-1', action: 'api.deny', subject: 'operation:devices.revoke' });

    const out = (await clients.get('operator')!.call(revoke, { id: 'cam-r', reason: 'lost in transit' })) as { serials: string[]; effects: string };
    expect(out).toMatchObject({ serials: [device.serial], effects: 'applied' });
    await gone;
    expect((await store.getDevice('cam-r'))!.revoked).toBe(true);
    const entry = (await store.listAudit({ limit: 100_000 })).findLast((e) => e.action === 'device.revoke')!;
    expect(entry).toMatchObject({ actor: 'admin:operator-1', subject: 'device:cam-r' });
    expect((await connectClient(server!.port, ca.certificatePem, device, { clientId: 'cam-r' })).kind).not.toBe('connected');
  });

  it('an operator cannot change policies; an admin can', async () => {
    const create = findOperation('policies.create')!;
    const document = { v: 1, description: 'golden values of line 4' };
    for (const role of ['viewer', 'operator'] as const) {
      await expect(clients.get(role)!.call(create, { name: 'line-4', document })).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    }
    expect(await store.getPolicy('line-4')).toBeNull();
    await clients.get('admin')!.call(create, { name: 'line-4', document });
    expect(await store.getPolicy('line-4')).toMatchObject({ version: 1, document, createdBy: 'admin:admin-1' });
  });

  it('a viewer cannot create or revoke tokens, an operator cannot either, an admin can (audited with the admin’s name)', async () => {
    const create = findOperation('tokens.create')!;
    for (const role of ['viewer', 'operator'] as const) {
      await expect(clients.get(role)!.call(create, { label: role })).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    }
    const made = (await clients.get('admin')!.call(create, { label: 'by admin', uses: 2 })) as { token: string; info: { id: number } };
    expect(made.token).toMatch(/^vgl_/);
    const check = await store.checkToken(hashEnrollmentToken(made.token), Date.now());
    expect(check.ok && check.token.id).toBe(made.info.id);
    const entry = (await auditTail())[0]!;
    expect(entry).toMatchObject({ actor: 'admin:admin-1', action: 'token.create', subject: `token:${made.info.id}` });
    expect(JSON.stringify(entry)).not.toContain(made.token);
    expect(logs.lines.some((l) => JSON.stringify(l).includes(made.token))).toBe(false);

    const revoke = findOperation('tokens.revoke')!;
    for (const role of ['viewer', 'operator'] as const) {
      await expect(clients.get(role)!.call(revoke, { id: made.info.id })).rejects.toMatchObject({ code: 'forbidden' });
    }
    expect(await clients.get('admin')!.call(revoke, { id: made.info.id })).toEqual({ id: made.info.id, revoked: true });
    expect(await store.checkToken(hashEnrollmentToken(made.token), Date.now())).toEqual({ ok: false, reason: 'revoked' });
  });
});

describe('admin API: input, output and documents', () => {
  it('answers bad input with 4xx and a JSON body naming the problem', async () => {
    const admin = credentials.get('admin')!;
    const raw = (method: string, path: string, body?: string, type = 'application/json') =>
      new Promise<{ status: number; body: { error?: string; message?: string; property?: string } }>((resolve, reject) => {
        const req = request(
          {
            host: endpoint.host,
            port: endpoint.port,
            method,
            path,
            agent: false,
            ca: admin.caPem,
            cert: admin.certificatePem,
            key: admin.keyPem,
            checkServerIdentity: () => undefined,
            headers: body === undefined ? {} : { 'content-type': type },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as { error?: string } }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await raw('POST', '/v1/tokens', '{"uses":0}')).toEqual({ status: 400, body: { error: 'invalid-input', message: 'uses: must be >= 1', property: 'uses' } });
    expect(await raw('POST', '/v1/tokens', '{"ttl":"400d"}')).toMatchObject({ status: 400, body: { property: 'ttl' } });
    expect(await raw('POST', '/v1/tokens', '{"owner":"x"}')).toMatchObject({ status: 400, body: { error: 'invalid-input', property: 'owner' } });
    expect(await raw('POST', '/v1/tokens', '{"uses":')).toMatchObject({ status: 400, body: { error: 'invalid-input' } });
    expect(await raw('POST', '/v1/tokens', '[1,2]')).toMatchObject({ status: 400, body: { error: 'invalid-input' } });
    expect(await raw('POST', '/v1/tokens', 'uses=1', 'text/plain')).toMatchObject({ status: 415, body: { error: 'invalid-input' } });
    expect(await raw('POST', '/v1/tokens', JSON.stringify({ label: 'x'.repeat(2 * 1024 * 1024) }))).toMatchObject({ status: 413, body: { error: 'invalid-input' } });
    expect(await raw('GET', '/v1/devices?state=bogus')).toMatchObject({ status: 400, body: { property: 'state', message: expect.stringContaining('must be one of') } });
    expect(await raw('GET', '/v1/devices?state=none&state=revoked')).toMatchObject({ status: 400, body: { property: 'state' } });
    expect(await raw('GET', '/v1/devices/Not%20An%20Id')).toMatchObject({ status: 400, body: { property: 'id' } });
    expect(await raw('GET', '/v1/devices/ghost')).toEqual({ status: 404, body: { error: 'not-found', message: 'no device ghost' } });
    expect(await raw('GET', '/v1/devices/ghost/attestations?limit=0')).toMatchObject({ status: 400, body: { property: 'limit' } });
    expect(await raw('GET', '/v1/nothing')).toMatchObject({ status: 404, body: { error: 'not-found' } });
    expect(await raw('POST', '/v1/admins', JSON.stringify({ name: 'x', role: 'viewer', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n' }))).toMatchObject({
      status: 400,
      body: { property: 'publicKeyPem' },
    });
    expect(await raw('POST', '/v1/admins', JSON.stringify({ name: 'x', role: 'root', publicKeyPem: rsaKey().publicKeyPem }))).toMatchObject({ status: 400, body: { property: 'role' } });
  });

  it('any JSON body: 200 exactly when the input schema accepts it, else 400; never a 5xx', async () => {
    const create = findOperation('tokens.create')!;
    const admin = clients.get('admin')!;
    const value = fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.constantFrom('1h', '0s', '2h', '7d', '1h30m', 'x', '', 'vgl_x', 'cam-1', 'Bad/Name'), fc.boolean(), fc.constant(null));
    const body = fc.dictionary(fc.constantFrom('uses', 'ttl', 'label', 'deviceName', 'extra'), value, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(body, async (input) => {
        let status = 200;
        try {
          await admin.call(create, input);
        } catch (err) {
          status = (err as { status?: number }).status ?? -1;
        }
        expect(status).toBeLessThan(500);
        if (!decodeInput(create, input, { fromText: false }).ok) expect(status).toBe(400);
        return true;
      }),
      { numRuns: 60 },
    );
  });

  it('every output matches its operation’s output schema', async () => {
    await seedFleet();
    const viewer = clients.get('viewer')!;
    const reads: Array<[string, Record<string, unknown>]> = [
      ['devices.list', {}],
      ['devices.list', { state: 'revoked' }],
      ['devices.show', { id: 'cam-a' }],
      ['devices.attestations', { id: 'cam-a', limit: 2 }],
      ['tokens.list', {}],
      ['audit.verify', {}],
      ['audit.list', { limit: 5 }],
      ['admins.list', {}],
    ];
    for (const [name, input] of reads) {
      const op = findOperation(name)!;
      const output = await viewer.call(op, input);
      const check = Compile(op.output);
      expect(check.Check(output), `${name}: ${JSON.stringify(check.Errors(output)[0])}`).toBe(true);
    }
  });

  it('pages attestation history with next/before', async () => {
    await seedFleet();
    const op = findOperation('devices.attestations')!;
    const viewer = clients.get('viewer')!;
    const all = (await store.listAttestations('cam-a', 100)).map((a) => a.id);
    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = (await viewer.call(op, { id: 'cam-a', limit: 2, ...(before === undefined ? {} : { before }) })) as { items: Array<{ id: number }>; next: number | null };
      seen.push(...page.items.map((i) => i.id));
      if (page.next === null) break;
      before = page.next;
    }
    expect(seen).toEqual(all);
    expect(all.length).toBeGreaterThan(2);
  });

  it('serves an OpenAPI 3.1 document listing every operation with its role', async () => {
    const r = await clients.get('viewer')!.request('GET', '/openapi.json');
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.text) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string; 'x-vigil-role'?: string; security?: unknown }>>;
      components: { securitySchemes: Record<string, { type: string }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes['adminCertificate']!.type).toBe('mutualTLS');
    for (const op of operations) {
      const path = op.path.replace(/:([A-Za-z0-9]+)/g, '{$1}');
      const entry = doc.paths[path]?.[op.method.toLowerCase()];
      expect(entry, `${op.method} ${path}`).toBeDefined();
      expect(entry).toMatchObject({ operationId: op.name, 'x-vigil-role': op.role, security: [{ adminCertificate: [] }] });
    }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/metrics', '/healthz', '/readyz']));
  });
});

describe('metrics and the broker', () => {
  it('/metrics (viewer) exposes the server metrics, live counts from the broker and process metrics', async () => {
    const metrics = async () => {
      const r = await clients.get('viewer')!.request('GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.contentType).toMatch(/^text\/plain/);
      return r.text;
    };
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const before = await metrics();
    // No verifier runs in this server: nothing has counted verdicts or challenges, and no device is connected.
    for (const series of ['vigil_connected_devices', 'vigil_verdicts_total{status="affirming"}', 'vigil_challenges_total{event="sent"}']) {
      expect(value(before, series), series).toBe(0);
    }
    expect(value(before, 'vigil_revocations_total{reason="admin"}')).toBeGreaterThanOrEqual(0);
    expect(before).toMatch(/^process_cpu_user_seconds_total /m);
    expect(before).toMatch(/^# TYPE vigil_verification_duration_seconds histogram$/m);

    server!.context.metrics.verdicts.inc('affirming');
    server!.context.metrics.verdicts.inc('contraindicated', 2);
    server!.context.metrics.pipelineLatency.observe(0.0004);
    server!.context.metrics.enrollments.inc('enrolled');
    const device = makeDeviceCredentials(ca, 'cam-metrics');
    const outcome = await connectClient(server!.port, ca.certificatePem, device, { clientId: 'cam-metrics' });
    expect(outcome.kind).toBe('connected');
    try {
      const after = await metrics();
      expect(value(after, 'vigil_verdicts_total{status="affirming"}')).toBe(1);
      expect(value(after, 'vigil_verdicts_total{status="contraindicated"}')).toBe(2);
      expect(value(after, 'vigil_verification_duration_seconds_bucket{le="0.0005"}')).toBe(1);
      expect(value(after, 'vigil_verification_duration_seconds_bucket{le="0.00025"}')).toBe(0);
      expect(value(after, 'vigil_enrollments_total{outcome="enrolled"}')).toBe(1);
      expect(value(after, 'vigil_connected_devices')).toBe(1);
    } finally {
      if (outcome.kind === 'connected') outcome.client.end(true);
    }
  });

  it('the broker refuses an admin certificate: it names no device', async () => {
    const admin = credentials.get('admin')!;
    const outcome = await connectClient(server!.port, ca.certificatePem, { certPem: admin.certificatePem, keyPem: admin.keyPem }, { clientId: 'admin-as-device' });
    if (outcome.kind === 'connected') outcome.client.end(true);
    expect(outcome.kind).not.toBe('connected');
    const refusal = await logs.waitFor((l) => l.reason === 'no-device-identity' && JSON.stringify(l).includes('urn:vigil:device'));
    expect(refusal).toBeDefined();
  });
});

describe('vigil-server commands: through the API when the server runs, on the database when not', () => {
  const commands: string[][] = [
    ['devices', 'list'],
    ['devices', 'list', '--json'],
    ['device', 'show', 'cam-a'],
    ['attestations', 'cam-a', '--limit', '2'],
    ['token', 'list', '--json'],
    ['admin', 'list'],
    ['audit', 'verify'],
    ['audit', 'list', '--limit', '20'],
    ['device', 'show', 'ghost'],
    ['token', 'revoke', '424242'],
  ];

  it('print the same output and exit the same way online and offline', async () => {
    await seedFleet();
    const created = await vigil('token', 'create', '--label', 'online', '--data', paths.root);
    expect(created.code).toBe(0);
    expect((await auditTail())[0]).toMatchObject({ action: 'token.create', actor: 'admin:local' });
    const before = logs.lines.length;
    const online = await Promise.all(commands.map((args) => vigil(...args, '--data', paths.root)));
    // They went through the API: the server logged each operation's call.
    const called = new Set(logs.lines.slice(before).filter((l) => l.msg === 'admin API call').map((l) => l['operation']));
    expect([...called].sort()).toEqual(['admins.list', 'audit.list', 'audit.verify', 'devices.attestations', 'devices.list', 'devices.show', 'tokens.list', 'tokens.revoke']);

    await server!.stop();
    server = undefined;
    expect(existsSync(adminPaths(paths).runFile)).toBe(false);

    const offline = await Promise.all(commands.map((args) => vigil(...args, '--data', paths.root)));
    commands.forEach((args, i) => expect(offline[i], args.join(' ')).toEqual(online[i]));
    expect(online.find((r) => r.code !== 0)).toBeDefined(); // the refusals are compared too
    expect(online[0]!.stdout).toMatch(/^DEVICE\s+STATE\s+GROUP\s+POLICY\s+ENROLLED\s+LAST VERIFIED\s+LAST ATTESTATION\n/);
    const listed = new Map((JSON.parse(online[1]!.stdout) as Array<{ id: string; state: string }>).map((d) => [d.id, d.state]));
    expect([listed.get('cam-a'), listed.get('cam-b')]).toEqual(['contraindicated', 'revoked']);

    const offlineCreate = await vigil('token', 'create', '--label', 'offline', '--data', paths.root);
    expect(offlineCreate.code).toBe(0);
    const { openSqliteStore } = await import('../src/store/index.js');
    const db = await openSqliteStore(paths.database, { create: false });
    try {
      expect((await db.listAudit({ limit: 100_000 })).at(-1)).toMatchObject({ action: 'token.create', actor: expect.stringMatching(/^cli:/) });
    } finally {
      await db.close();
    }
  });

  it('ignore a stale run file (dead process, or nothing listening) and work on the database', async () => {
    const files = adminPaths(paths);
    const listing = await vigil('token', 'list', '--json', '--data', paths.root);
    expect(listing.code).toBe(0);
    const stale = { pid: process.pid, host: '127.0.0.1', port: endpoint.port, certificateSha256: endpoint.certificateSha256, startedAt: new Date().toISOString() };
    await writeFile(files.runFile, JSON.stringify(stale));
    expect(await vigil('token', 'list', '--json', '--data', paths.root)).toEqual(listing);
    await writeFile(files.runFile, JSON.stringify({ ...stale, pid: await deadPid() }));
    expect(await vigil('token', 'list', '--json', '--data', paths.root)).toEqual(listing);
    await writeFile(files.runFile, '{"pid": "garbage"');
    expect(await vigil('token', 'list', '--json', '--data', paths.root)).toEqual(listing);
  });

  it('an operation that needs the server exits 5 when none runs', async () => {
    await server?.stop();
    server = undefined;
    const attest = defineOperation({
      name: 'test.online-only',
      summary: 'needs the server',
      method: 'POST',
      path: '/v1/test',
      role: 'operator',
      input: Type.Object({}, { additionalProperties: false }),
      output: Type.Object({}),
      offline: false,
      handler: async () => ({}),
    });
    await expect(invokeOperation(attest, {}, paths)).rejects.toMatchObject({ exitCode: 5, message: `vigil-server is not running for ${paths.root}` });
    // The same through the built CLI, with a registered online-only operation.
    const online = operations.find((op) => !op.offline && op.cli !== undefined)!;
    expect(online.name).toBe('devices.attest');
    const r = await vigil(...online.cli!.command, ...(online.cli!.arguments ?? []).map(() => 'cam-a'), '--data', paths.root);
    expect(r).toMatchObject({ code: 5, stdout: '', stderr: `vigil-server: vigil-server is not running for ${paths.root}\n` });
  });

  it('admin issue writes a working credential (key 0600) and refuses to overwrite one', async () => {
    const out = join(tmp.path, 'ops-alice');
    const r = await vigil('admin', 'issue', '--name', 'alice', '--role', 'operator', '--out', out, '--data', paths.root);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(join(out, 'admin.key'))).mode & 0o777).toBe(0o600);
    const cert = await readFile(join(out, 'admin.pem'), 'utf8');
    const { adminIdentityFromCertificate } = await import('../src/pki/index.js');
    expect(adminIdentityFromCertificate(cert)).toEqual({ name: 'alice', role: 'operator' });
    expect(createPrivateKey(await readFile(join(out, 'admin.key'), 'utf8')).asymmetricKeyType).toBe('rsa');
    expect(await readFile(join(out, 'ca.pem'), 'utf8')).toBe(ca.certificatePem);
    const again = await vigil('admin', 'issue', '--name', 'alice', '--role', 'operator', '--out', out, '--data', paths.root);
    expect(again.code).toBe(2);
    expect(await readFile(join(out, 'admin.pem'), 'utf8')).toBe(cert);
    const bad = await vigil('admin', 'issue', '--name', 'Alice Smith', '--role', 'root', '--out', join(tmp.path, 'x'), '--data', paths.root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^vigil-server: --name: .*; --role: must be one of "viewer", "operator", "admin"\n$/);
    expect(existsSync(join(tmp.path, 'x', 'admin.key'))).toBe(false);
  });
});

/** An input each operation accepts syntactically (so the role check is what decides), mostly naming nothing that exists. */
function sampleInput(name: string, schema: { properties: Record<string, unknown> }): Record<string, unknown> {
  const samples: Record<string, Record<string, unknown>> = {
    'tokens.create': { label: 'role matrix' },
    'tokens.revoke': { id: 999_999 },
    'admins.issue': { name: 'matrix', role: 'viewer', publicKeyPem: rsaKey().publicKeyPem },
    'admins.revoke': { name: 'nobody' },
  };
  if (samples[name]) return samples[name];
  // Other operations: path parameters name nothing that exists; the rest is left to the schema (a 400 is fine here).
  const input: Record<string, unknown> = {};
  for (const key of pathParamsOf(name)) input[key] = (schema.properties[key] as { type?: string }).type === 'integer' ? 999_999 : 'ghost';
  return input;
}

function pathParamsOf(name: string): readonly string[] {
  return findOperation(name)!.pathParams;
}

let seeded = false;
/** Two devices (cam-a with history and a policy, cam-b revoked) written through the store, as the registrar and verifier would. */
async function seedFleet(): Promise<void> {
  if (seeded) return;
  seeded = true;
  const s = server!.context.store;
  for (const id of ['cam-a', 'cam-b']) await enrollFakeDevice(id);
  await s.createPolicyVersion({ name: 'fleet', document: { pcrs: {} }, actor: 'test' });
  await s.assignPolicy({ target: { kind: 'group', group: 'line-1' }, policyName: 'fleet', actor: 'test' });
  const statuses: EarStatus[] = ['affirming', 'affirming', 'warning', 'contraindicated'];
  for (const [i, status] of statuses.entries()) {
    await s.recordAttestation({
      attestation: {
        deviceId: 'cam-a',
        challengeId: null,
        receivedAt: Date.UTC(2026, 0, 1, 0, i),
        evidenceDigest: randomBytes(32).toString('hex'),
        status,
        verdict: ear('cam-a', status),
        error: null,
        policy: { name: 'fleet', version: 1 },
        tpmClock: { clock: 2n ** 60n + BigInt(i), resetCount: 1, restartCount: i },
      },
      device: { status, verified: status !== 'contraindicated', tpmClock: { clock: 2n ** 60n + BigInt(i), resetCount: 1, restartCount: i } },
      actor: 'verifier',
    });
  }
  const revoked = await s.revokeDevice({ deviceId: 'cam-b', reason: 'admin', message: 'lost in transit', actor: 'test' });
  if (!revoked.ok) throw new Error(revoked.reason);
}

/** A device row as the registrar writes it (the TPM parts are random: nothing here reads them). */
async function enrollFakeDevice(id: string, certificate?: { serial: string; pem: string }): Promise<void> {
  const s = server!.context.store;
  const token = generateEnrollmentToken();
  await s.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + hours(1), actor: 'test' });
  const result = await s.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: {
      id,
      ekPublic: randomBytes(300),
      ekName: '000b' + randomBytes(32).toString('hex'),
      akPublic: randomBytes(280),
      akName: '000b' + randomBytes(32).toString('hex'),
      facts: { hostname: id, os: 'Debian GNU/Linux 12', arch: 'arm64', agentVersion: '0.1.0', tpm: { manufacturer: 'IBM', firmwareVersion: '1.0' } },
      group: 'line-1',
    },
    certificate: {
      serial: certificate?.serial ?? randomBytes(16).toString('hex').replace(/^0+/, '1'),
      notBefore: Date.now(),
      notAfter: Date.now() + hours(24),
      pem: certificate?.pem ?? '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    },
    actor: 'registrar',
  });
  if (!result.ok) throw new Error(result.reason);
}

function ear(deviceId: string, status: EarStatus): Ear {
  return {
    eat_profile: 'tag:github.com,2023:veraison/ear',
    iat: 1_767_225_600,
    'ear.verifier-id': { developer: 'Vigil', build: 'test' },
    submods: {
      boot: { 'ear.status': 'affirming' },
      models:
        status === 'affirming'
          ? { 'ear.status': status }
          : { 'ear.status': status, 'vigil.reasons': [{ code: 'model-digest', message: 'resnet.onnx is not allowed', where: { path: '/models/resnet.onnx', pcr: 14 } }] },
    },
    'vigil.device-id': deviceId,
  };
}

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['-e', '0'], () => resolve(child.pid!));
  });
}
