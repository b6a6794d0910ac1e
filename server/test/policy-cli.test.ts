/**
 * The policy, model, revocation and attest commands of the built
 * `vigil-server`, with no server running: they work on the database (and
 * the CRL file) directly, with the exit codes of docs/architecture.md.
 * (Through a running server's admin API they are exercised in
 * test/attestation.test.ts.)
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayEventLog, replayToJson } from '@vigil/evidence';
import { makeTempDir } from '../../test/harness/pki.js';
import { dataDir, type DataDir } from '../src/datadir.js';
import { normalizeSerial } from '../src/pki/index.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore } from '../src/store/index.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'vigil-server.cjs');
const GCE = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'eventlogs', 'go-attestation-ubuntu-2104-gce.bin');

let tmp: { path: string; cleanup: () => Promise<void> };
let paths: DataDir;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--data', paths.root]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-policy-cli-');
  paths = dataDir(join(tmp.path, 'data'));
  await run(process.execPath, [CLI, 'init', '--data', paths.root], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('vigil-server policy (offline)', () => {
  it('imports from tpm2_eventlog output and from a replay, shows, diffs, lists and assigns', async () => {
    const yaml = join(tmp.path, 'gce.yaml');
    await writeFile(yaml, (await run('tpm2_eventlog', [GCE], { maxBuffer: 64 << 20 })).stdout);
    const replay = join(tmp.path, 'replay.json');
    await writeFile(replay, JSON.stringify(replayToJson(await replayEventLog(GCE))));

    let r = await cli('policy', 'import', '--name', 'golden', '--tpm2-eventlog', yaml);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `policy golden@1 imported from ${yaml}\n` });
    r = await cli('policy', 'import', '--name', 'golden', '--replay', replay, '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'golden', version: 2 });

    r = await cli('policy', 'show', 'golden@1', '--json');
    const shown = JSON.parse(r.stdout) as { info: { version: number }; document: { pcrs: { sha256: Record<string, string[]> }; eventLog: unknown } };
    expect(shown.info.version).toBe(1);
    expect(Object.keys(shown.document.pcrs.sha256)).toHaveLength(11);
    expect(shown.document.eventLog).toBeDefined();

    r = await cli('policy', 'diff', 'golden');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--- golden@1\n+++ golden@2\n');
    expect(r.stdout).toContain('- /eventLog:');

    expect((await cli('policy', 'assign', 'golden@1', '--all')).stdout).toBe('golden@1 assigned to all\n');
    const list = JSON.parse((await cli('policy', 'list', '--json')).stdout) as { policies: Array<{ name: string; version: number }>; assignments: Array<{ target: string; policy: string }> };
    expect(list.policies).toEqual([expect.objectContaining({ name: 'golden', version: 2 })]);
    expect(list.assignments).toEqual([expect.objectContaining({ target: 'all', policy: 'golden@1' })]);
  });

  it('refuses bad command lines and inputs with the documented exit codes', async () => {
    expect((await cli('policy', 'import', '--name', 'x')).code).toBe(2);
    expect((await cli('policy', 'import', '--name', 'x', '--replay', join(tmp.path, 'missing.json'))).code).toBe(3);
    const junk = join(tmp.path, 'junk.json');
    await writeFile(junk, '{"pcrs": 5}');
    const bad = await cli('policy', 'import', '--name', 'x', '--replay', junk);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('junk.json');
    expect((await cli('policy', 'import', '--name', 'Bad Name', '--replay', join(tmp.path, 'replay.json'))).code).toBe(2);
    expect((await cli('policy', 'assign', 'golden', '--all', '--group', 'edge')).code).toBe(2);
    expect((await cli('policy', 'show', 'nothing')).code).toBe(2);
    expect((await cli('policy', 'diff', 'golden@1')).stderr).toContain('first version');
  });
});

describe('vigil-server models (offline)', () => {
  it('allows a digest given or computed from the model file, lists, and revokes', async () => {
    const model = join(tmp.path, 'detector.onnx');
    const bytes = randomBytes(100_000);
    await writeFile(model, bytes);
    const digest = createHash('sha256').update(bytes).digest('hex');
    let r = await cli('models', 'allow', 'detector.onnx', model, '--note', 'v1');
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: `detector.onnx ${digest} allowed\n` });
    expect((await cli('models', 'allow', 'detector.onnx', 'ab'.repeat(32))).code).toBe(0);
    r = await cli('models', 'list', '--json');
    expect((JSON.parse(r.stdout) as { models: Array<{ digest: string; note: string | null }> }).models.map((m) => m.digest).sort()).toEqual([digest, 'ab'.repeat(32)].sort());
    expect((await cli('models', 'allow', 'detector.onnx', join(tmp.path, 'nope'))).code).toBe(2);
    expect((await cli('models', 'allow', 'detector.onnx', tmp.path)).code).toBe(2);
    expect((await cli('models', 'revoke', 'detector.onnx')).stdout).toBe('2 digests of detector.onnx revoked\n');
    expect((await cli('models', 'revoke', 'detector.onnx')).code).toBe(2);
  });
});

describe('vigil-server revoke / reinstate / attest (offline)', () => {
  it('revokes on the database and the CRL, leaving the rest for the server’s next start; reinstates; attest needs the server', async () => {
    const store = await openSqliteStore(paths.database, { create: false });
    const token = generateEnrollmentToken();
    const serial = randomBytes(16).toString('hex');
    try {
      await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, actor: 'test' });
      const enrolled = await store.enrollDevice({
        tokenHash: hashEnrollmentToken(token),
        device: { id: 'cam-1', ekPublic: new Uint8Array(4), ekName: '000b' + 'aa'.repeat(32), akPublic: new Uint8Array(4), akName: '000b00', facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '0', tpm: { manufacturer: 'm', firmwareVersion: '0' } } },
        certificate: { serial, notBefore: Date.now(), notAfter: Date.now() + 86_400_000, pem: 'PEM' },
        actor: 'test',
      });
      expect(enrolled.ok).toBe(true);
    } finally {
      await store.close();
    }
    let r = await cli('revoke', 'cam-1', '--reason', 'stolen', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'cam-1', serials: [serial], effects: 'pending' });
    const crl = await run('openssl', ['crl', '-in', paths.crl, '-noout', '-text']);
    expect([...crl.stdout.matchAll(/Serial Number: ([0-9A-Fa-f]+)/g)].map((m) => normalizeSerial(m[1]!))).toContain(normalizeSerial(serial));
    expect((await cli('revoke', 'cam-1', '--reason', 'again')).code).toBe(2);
    expect((await cli('revoke', 'ghost', '--reason', 'x')).code).toBe(2);

    r = await cli('reinstate', 'cam-1');
    expect(r.stdout).toContain('must enroll again');
    expect((await cli('reinstate', 'cam-1')).code).toBe(2);

    r = await cli('attest', 'cam-1');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('not running');
    const verify = await cli('audit', 'verify');
    expect(verify.code, verify.stderr).toBe(0);
  });
});

describe('vigil-server start --attest-interval', () => {
  it('sets the challenge interval, and a value that is not a duration is refused naming the flag', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, 'start', '--data', paths.root, '--port', '0', '--host', '127.0.0.1', '--attest-interval', '1m30s'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const started = new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        for (const line of err.split('\n')) {
          if (line.includes('"verifier started"')) resolve(JSON.parse(line) as Record<string, unknown>);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    try {
      expect((await started)['intervalSeconds']).toBe(90);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const bad = await cli('start', '--port', '0', '--attest-interval', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--attest-interval');
  }, 60_000);
});
