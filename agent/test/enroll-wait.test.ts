/**
 * Issue 6/9: an enrollment never waits without bound. A real broker (the
 * server's aedes broker over mutual TLS, no registrar behind it) accepts the
 * agent's self-signed bootstrap client and its subscription, and nobody ever
 * answers. `vigil-agent enroll` (the packaged bundle) ends with exit 5 and
 * says what it waited for; `vigil-agent run` retries after the daemon's
 * jittered backoff, reports it in its status file, and a SIGTERM ends it even
 * in the middle of a long wait.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../test/harness/broker.js';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { startSwtpm, type SwtpmInstance } from '../../test/harness/swtpm.js';
import { readStatusFile } from '../src/daemon/status-file.js';
import { type AgentLogLine, msg, startAgent } from './helpers/agent-process.js';

const run = promisify(execFile);
const BUNDLE_SCRIPT = join(import.meta.dirname, '..', 'scripts', 'bundle.mjs');
// Two levels below agent/, as the packaged bundle is (dist/bundle): the agent finds its package.json from there.
const BUNDLE_DIR = join(import.meta.dirname, '..', 'dist', `bundle-test-${process.pid}`);
const TOKEN = `vgl_${'A'.repeat(43)}`;

let tmp: { path: string; cleanup: () => Promise<void> };
let broker: TestBroker;
let swtpm: SwtpmInstance;
let caFile: string;
let bundle: string;

beforeAll(async () => {
  tmp = await makeTempDir('vigil-enroll-wait-');
  const ca = await makeFleetCa();
  broker = await startTestBroker(ca);
  caFile = join(tmp.path, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  swtpm = await startSwtpm();
  bundle = (await run(process.execPath, [BUNDLE_SCRIPT, '--outdir', BUNDLE_DIR])).stdout.trim();
}, 120_000);

afterAll(async () => {
  await broker?.broker.close();
  await swtpm?.stop();
  await rm(BUNDLE_DIR, { recursive: true, force: true });
  await tmp?.cleanup();
});

const server = () => `mqtts://localhost:${broker.port}`;

describe('enrollment against a broker that never answers', () => {
  it('vigil-agent enroll (the packaged bundle) gives up after --timeout with exit 5, naming the wait', async () => {
    const state = join(tmp.path, 'cli-state');
    const outcome = await run(process.execPath, [bundle, 'enroll', '--server', server(), '--ca', caFile, '--token', TOKEN, '--tpm', swtpm.uri, '--state', state, '--timeout', '10', '--log-level', 'debug'], {
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_'))),
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? '' }),
    );
    expect(outcome.code, outcome.stderr).toBe(5);
    // It got as far as the broker: connected as a bootstrap client, then waited for the server's challenge.
    expect(outcome.stderr).toContain('connected to the broker as a bootstrap client');
    expect(outcome.stderr).toMatch(/the challenge from the server/);
    // Nothing was recorded as enrolled; the bootstrap identity is kept for the next attempt.
    await expect(stat(join(state, 'enrollment.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(join(state, 'bootstrap.pem'))).isFile()).toBe(true);
  });

  it('vigil-agent run retries each timed-out attempt after the jittered backoff, and reports it', async () => {
    const state = join(tmp.path, 'run-state');
    await mkdir(state, { recursive: true });
    const initialMs = 300;
    const maxMs = 1000;
    const agent = startAgent([
      'run', '--server', server(), '--ca', caFile, '--tpm', swtpm.uri, '--state', state, '--token', TOKEN,
      '--enroll-timeout-seconds', '6', '--reconnect-initial-delay-ms', String(initialMs), '--reconnect-max-delay-ms', String(maxMs),
      '--eventlog', join(tmp.path, 'none'), '--ima-log', join(tmp.path, 'none'), '--log-level', 'debug',
    ]);
    try {
      const retried = (l: AgentLogLine) => l.msg === 'enrollment attempt failed; retrying';
      await agent.waitFor((l) => retried(l) && l['attempt'] === 2, 'the second failed attempt');
      const failures = agent.matching(retried);
      expect(failures.map((l) => l['attempt'])).toEqual([1, 2]);
      for (const f of failures) {
        expect(f['failure']).toBe('timeout');
        expect(String(f['err'])).toMatch(/the challenge from the server/);
      }
      // Equal jitter (backoff.ts): the n-th delay is in [c/2, c], c = min(maxMs, initialMs * 2^(n-1)).
      failures.forEach((f, n) => {
        const c = Math.min(maxMs, initialMs * 2 ** n);
        expect(f['retryInMs']).toBeGreaterThanOrEqual(c / 2);
        expect(f['retryInMs']).toBeLessThanOrEqual(c);
      });
      // One bootstrap connection per attempt: each attempt reached the broker, and none was retried behind the backoff's back.
      const connects = agent.matching(msg('connected to the broker as a bootstrap client')).length;
      expect(connects).toBeGreaterThanOrEqual(2);
      expect(connects).toBeLessThanOrEqual(3);
      const status = await readStatusFile(state);
      expect(status?.connection.state).toBe('enrolling');
      expect(status?.connection.lastError).toMatch(/the challenge from the server/);
      expect(status?.enrollment.enrolled).toBe(false);
    } finally {
      const exit = await agent.stop();
      expect(exit.code).toBe(0);
    }
  });

  it('a SIGTERM ends vigil-agent run in the middle of a long enrollment wait (exit 0)', async () => {
    const state = join(tmp.path, 'stop-state');
    const agent = startAgent([
      'run', '--server', server(), '--ca', caFile, '--tpm', swtpm.uri, '--state', state, '--token', TOKEN,
      '--enroll-timeout-seconds', '3600', '--eventlog', join(tmp.path, 'none'), '--ima-log', join(tmp.path, 'none'), '--log-level', 'debug',
    ]);
    await agent.waitFor(msg('connected to the broker as a bootstrap client'), 'the bootstrap connection');
    // Waiting for the challenge now (for up to an hour): only the cancellation can end it before the test's own timeout.
    const exit = await agent.stop();
    expect(exit.code).toBe(0);
    expect(agent.matching(msg('vigil-agent stopped')).at(-1)).toMatchObject({ exitCode: 0 });
    expect(agent.matching((l) => l.msg === 'enrollment attempt failed; retrying')).toEqual([]);
    expect(JSON.parse(await readFile(join(state, 'status.json'), 'utf8')).enrollment.enrolled).toBe(false);
  });
});
