import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectOk, subscribeResult } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeTempDir, type DeviceCredentials } from '../../test/harness/pki.js';
import { dataDir, type DataDir } from '../src/datadir.js';
import { loadFleetCaFiles, type FleetCa } from '../src/pki/index.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore } from '../src/store/index.js';

const run = promisify(execFile);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'vigil-server.cjs');
const ENV = { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' };

interface Started {
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

/** Spawns `vigil-server start` and resolves at its ready line (or rejects with its stderr if it exits first). */
function startServer(root: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = ENV): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'start', '--data', root, '--port', '0', '--host', '127.0.0.1', ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  // 'close', not 'exit': the last stderr lines may still be in the pipe at 'exit'.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      raw.push(line);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      lines.push(parsed);
      if (parsed.msg === 'vigil-server ready') resolve({ child, ready: parsed, lines, exited });
    });
    void exited.then((code) => reject(new Error(`vigil-server start exited with ${code}: ${raw.join('\n')}`)));
  });
}

async function cli(args: string[], env: NodeJS.ProcessEnv = ENV): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [CLI, ...args], { env });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
  }
}

let tmp: { path: string; cleanup: () => Promise<void> };
let paths: DataDir;
let ca: FleetCa;
let revoked: DeviceCredentials;
const children: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('vigil-start-');
  paths = dataDir(join(tmp.path, 'data'));
  const init = await cli(['init', '--data', paths.root, '--san', 'localhost']);
  expect(init.code).toBe(0);
  ca = await loadFleetCaFiles(paths);
  // A revocation already in the store before start (the store, not the CRL file, is the source of truth:
  // start rebuilds the broker's revocation list and the CRL from it).
  revoked = makeDeviceCredentials(ca, 'in-the-crl');
  const store = await openSqliteStore(paths.database);
  try {
    const token = generateEnrollmentToken();
    await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, actor: 'test' });
    const enrolled = await store.enrollDevice({
      tokenHash: hashEnrollmentToken(token),
      device: { id: 'in-the-crl', ekPublic: randomBytes(314), ekName: '000b' + randomBytes(32).toString('hex'), ekCertificate: null, akPublic: randomBytes(280), akName: '000b' + randomBytes(32).toString('hex'), facts: { hostname: 'h', os: 'linux', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'IBM', firmwareVersion: '1' } } },
      certificate: { serial: revoked.serial, notBefore: Date.now(), notAfter: Date.now() + 3_600_000, pem: revoked.certPem },
      actor: 'registrar',
    });
    expect(enrolled.ok).toBe(true);
    const revocation = await store.revokeDevice({ deviceId: 'in-the-crl', reason: 'contraindicated', actor: 'test' });
    expect(revocation.ok).toBe(true);
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await tmp.cleanup();
});

describe('vigil-server start', () => {
  it('logs one ready line with the port it picked, serves mutual-TLS MQTT there, and stops cleanly on SIGTERM', async () => {
    const server = await startServer(paths.root);
    children.push(server.child);
    const port = server.ready.port;
    expect(typeof port).toBe('number');
    expect(server.lines.filter((l) => l.msg === 'vigil-server ready')).toHaveLength(1);

    const device = makeDeviceCredentials(ca, 'cam-cli');
    const client = await connectOk(port as number, ca.certificatePem, device, 'cam-cli');
    expect(await subscribeResult(client, 'vigil/v1/devices/cam-cli/result')).toBe(1);
    expect(await subscribeResult(client, 'vigil/v1/devices/other/result')).toBe(128);
    client.end(true);

    const refused = await connectClient(port as number, ca.certificatePem, revoked, { clientId: 'in-the-crl' });
    expect(refused.kind).toBe('refused');
    const noCert = await connectClient(port as number, ca.certificatePem, undefined, { clientId: 'x' });
    expect(noCert.kind).toBe('refused');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const reasons = server.lines.map((l) => l.reason).filter(Boolean);
    expect(reasons).toEqual(expect.arrayContaining(['revoked', 'no-certificate', 'subscribe-denied']));
    expect(server.lines.at(-1)?.msg).toBe('vigil-server stopped');
  });

  it('exits 2 naming the bad key and where it came from', async () => {
    const fromEnv = await cli(['start', '--data', paths.root], { ...ENV, VIGIL_LISTEN_PORT: '70000' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('listen.port');
    expect(fromEnv.stderr).toContain('VIGIL_LISTEN_PORT');

    const fromFlag = await cli(['start', '--data', paths.root, '--port', 'eighty']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('listen.port');
    expect(fromFlag.stderr).toContain('--port');

    const original = await readFile(paths.config, 'utf8');
    try {
      await writeFile(paths.config, 'tls:\n  minVersion: TLSv1.0\n');
      const fromFile = await cli(['start', '--data', paths.root]);
      expect(fromFile.code).toBe(2);
      expect(fromFile.stderr).toContain('tls.minVersion');
      expect(fromFile.stderr).toContain('config.yaml');
      expect(fromFile.stderr).toContain('"TLSv1.3", "TLSv1.2"');

      await writeFile(paths.config, 'limits:\n  maxPacketBytez: 5\n');
      const unknown = await cli(['start', '--data', paths.root]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('limits.maxPacketBytez');
      expect(unknown.stderr).toContain('unknown key');
    } finally {
      await writeFile(paths.config, original);
    }
  });

  it('refuses to start (exit 3) when the CA key is readable by group or others', async () => {
    await chmod(paths.caKey, 0o644);
    try {
      const result = await cli(['start', '--data', paths.root]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(paths.caKey);
      expect(result.stderr).toContain('chmod 600');
    } finally {
      await chmod(paths.caKey, 0o600);
    }
  });

  it('exits 3 with a hint when the data directory was never initialised', async () => {
    const result = await cli(['start', '--data', join(tmp.path, 'nothing-here')]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('vigil-server init');
  });

  it('also stops cleanly on SIGINT', async () => {
    const server = await startServer(paths.root);
    children.push(server.child);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
    expect(server.lines.some((l) => l.msg === 'vigil-server stopping' && l.signal === 'SIGINT')).toBe(true);
  });
});
