/**
 * The enrollment interfaces operators and outside checks rely on, as built
 * programs: `vigil-server init/start/token create/devices list/audit verify`
 * and `vigil-agent enroll` as child processes, a real swtpm, and the issued
 * credentials used by mqtt.js and by mosquitto_sub.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@vigil/protocol';
import { connectOk, subscribeResult } from './harness/broker.js';
import { makeFleetCa, makeTempDir } from './harness/pki.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const execFileAsync = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');
const AGENT_CLI = join(import.meta.dirname, '..', 'agent', 'dist', 'cli', 'main.js');

let tmp: { path: string; cleanup: () => Promise<void> };
let dataRoot: string;
let swtpm: SwtpmInstance;
let server: ChildProcess | undefined;
let serverExit: Promise<number | null>;
let port: number;
let env: NodeJS.ProcessEnv;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(program: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [program, ...args], { env: { ...env, ...extraEnv } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function token(): Promise<string> {
  const r = await cli(SERVER_CLI, ['token', 'create', '--data', dataRoot]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Well-formed but unknown: for runs that fail before the server judges the token. */
const UNUSED_TOKEN = `vgl_${'A'.repeat(43)}`;

function enrollArgs(tokenValue: string, state: string, extra: string[] = []): string[] {
  return ['enroll', '--server', `mqtts://localhost:${port}`, '--ca', join(dataRoot, 'ca.pem'), '--token', tokenValue, '--tpm', swtpm.uri, '--state', state, ...extra];
}

/** Runs mosquitto_sub with the device's files; `-E` ends it once its SUBACK arrived. Returns the QoS granted (128: refused). */
async function mosquittoSubscribe(state: string, clientId: string, topic: string): Promise<{ granted: number; output: string }> {
  const args = ['-d', '-E', '-h', 'localhost', '-p', String(port), '--cafile', join(dataRoot, 'ca.pem'), '--cert', join(state, 'device.pem'), '--key', join(state, 'device.key')];
  const { stdout } = await execFileAsync('mosquitto_sub', [...args, '--tls-version', 'tlsv1.3', '-V', '311', '-i', clientId, '-t', topic, '-q', '1']);
  const m = /^Subscribed \(mid: \d+\): (\d+)/m.exec(stdout);
  if (!m) throw new Error(`mosquitto_sub printed no SUBACK:\n${stdout}`);
  return { granted: Number(m[1]), output: stdout };
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-enroll-cli-');
  dataRoot = join(tmp.path, 'data');
  swtpm = await startSwtpm();
  const bundle = join(tmp.path, 'tpm-manufacturers.pem');
  await writeFile(bundle, swtpm.ekCaCert + swtpm.ekIssuerCert);
  env = { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048', VIGIL_ENROLLMENT_MANUFACTURER_CA_FILES: bundle, VIGIL_DATA: '/nonexistent' };
  const init = await cli(SERVER_CLI, ['init', '--data', dataRoot, '--san', 'localhost']);
  expect(init.code, init.stderr).toBe(0);

  const child = spawn(process.execPath, [SERVER_CLI, 'start', '--data', dataRoot, '--port', '0', '--host', '127.0.0.1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  server = child;
  serverExit = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  const lines: string[] = [];
  port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      const parsed = JSON.parse(line) as { msg?: string; port?: number };
      if (parsed.msg === 'vigil-server ready') resolve(parsed.port!);
    });
    void serverExit.then((code) => reject(new Error(`vigil-server start exited with ${code}:\n${lines.join('\n')}`)));
  });
});

afterAll(async () => {
  if (server?.exitCode === null) server.kill('SIGKILL');
  await swtpm?.stop();
  await tmp?.cleanup();
});

describe('vigil-agent enroll and vigil-server, as built programs', () => {
  let deviceId: string;
  let state: string;

  it('enrolls a swtpm device: exit 0, device.pem and device.key (0600) in the state directory', async () => {
    state = join(tmp.path, 'agent');
    const r = await cli(AGENT_CLI, [...enrollArgs(await token(), state), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { deviceId: string; certificate: string; key: string; akKind: string };
    deviceId = summary.deviceId;
    expect(summary.certificate).toBe(join(state, 'device.pem'));
    expect(summary.akKind).toBe('rsa');
    expect(((await stat(join(state, 'device.key'))).mode & 0o777).toString(8)).toBe('600');
    expect(await readFile(join(state, 'device.pem'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('the issued certificate connects as the device: mqtt.js and mosquitto_sub on its own topics only', async () => {
    const credentials = { certPem: await readFile(join(state, 'device.pem'), 'utf8'), keyPem: await readFile(join(state, 'device.key'), 'utf8') };
    const client = await connectOk(port, await readFile(join(dataRoot, 'ca.pem'), 'utf8'), credentials, deviceId);
    expect(await subscribeResult(client, topics.deviceChallenge(deviceId))).toBe(1);
    client.end(true);

    expect((await mosquittoSubscribe(state, deviceId, topics.deviceResult(deviceId))).granted).toBe(1);
    expect((await mosquittoSubscribe(state, deviceId, topics.deviceResult('another-device'))).granted).toBe(128);
  });

  it('devices list shows the device (JSON with id, status, revoked; and a table)', async () => {
    const json = await cli(SERVER_CLI, ['devices', 'list', '--data', dataRoot, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const devices = JSON.parse(json.stdout) as Array<{ id: string; status: string; revoked: boolean }>;
    expect(devices).toEqual([expect.objectContaining({ id: deviceId, status: 'none', revoked: false })]);
    const text = await cli(SERVER_CLI, ['devices', 'list', '--data', dataRoot]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(deviceId);
  });

  it('exits 1 with the server’s reason when refused (the same TPM from another state directory; token from the environment)', async () => {
    const args = enrollArgs('', join(tmp.path, 'intruder')).filter((a, i, all) => a !== '--token' && all[i - 1] !== '--token');
    const r = await cli(AGENT_CLI, args, { VIGIL_AGENT_TOKEN: await token() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already-enrolled');
  });

  it('exits 2 on bad options and on a state directory that is already enrolled', async () => {
    expect((await cli(AGENT_CLI, enrollArgs('not-a-token', join(tmp.path, 'bad-token')))).code).toBe(2);
    const plaintext = await cli(AGENT_CLI, enrollArgs(UNUSED_TOKEN, join(tmp.path, 'plain')).map((a) => a.replace('mqtts://', 'mqtt://')));
    expect(plaintext.code).toBe(2);
    expect(plaintext.stderr).toContain('mqtts://');
    const again = await cli(AGENT_CLI, enrollArgs(UNUSED_TOKEN, state));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`already enrolled as ${deviceId}`);
  });

  it('exits 4 when the TPM cannot be reached and 5 when the server cannot, or its certificate is not from the given CA', async () => {
    const offline = join(tmp.path, 'offline');
    const noTpm = await cli(AGENT_CLI, enrollArgs(UNUSED_TOKEN, offline).map((a) => (a === swtpm.uri ? `swtpm:path=${join(tmp.path, 'absent.sock')}` : a)));
    expect(noTpm.code, noTpm.stderr).toBe(4);

    const closedPort = await cli(AGENT_CLI, enrollArgs(UNUSED_TOKEN, offline).map((a) => (a.startsWith('mqtts://') ? 'mqtts://localhost:1' : a)));
    expect(closedPort.code, closedPort.stderr).toBe(5);

    const foreign = join(tmp.path, 'foreign-ca.pem');
    await writeFile(foreign, (await makeFleetCa()).certificatePem);
    const wrongCa = await cli(AGENT_CLI, enrollArgs(UNUSED_TOKEN, offline).map((a) => (a === join(dataRoot, 'ca.pem') ? foreign : a)));
    expect(wrongCa.code, wrongCa.stderr).toBe(5);
    expect(wrongCa.stderr).toMatch(/certificate/i);
  });

  it('audit verify passes after the enrollments, and the server stops cleanly', async () => {
    const r = await cli(SERVER_CLI, ['audit', 'verify', '--data', dataRoot]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    server!.kill('SIGTERM');
    expect(await serverExit).toBe(0);
  });
});
