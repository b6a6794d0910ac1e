/**
 * `vigil-agent run` and `vigil-agent status` as operators and systemd meet
 * them: the built CLI, its exit codes and its output.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStatusFile } from '../src/daemon/status-file.js';
import type { AgentStatus } from '../src/daemon/status-schema.js';
import { saveEnrollment } from '../src/state/index.js';
import { makeFleetCa } from '../../test/harness/pki.js';
import { AGENT_CLI, msg, startAgent } from './helpers/agent-process.js';

const exec = promisify(execFile);
let dir: string;
let caFile: string;
const TOKEN = `vgl_${'T'.repeat(43)}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-agent-cli-'));
  caFile = join(dir, 'ca.pem');
  await writeFile(caFile, (await makeFleetCa()).certificatePem);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with a clean VIGIL_* environment; resolves with exit code, stdout and stderr. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_')));
  try {
    const { stdout, stderr } = await exec(process.execPath, [AGENT_CLI, ...args], { env: { ...clean, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('vigil-agent run', () => {
  it('exits 2 naming the key and where the bad value came from', async () => {
    const plain = await cli(['run', '--server', 'mqtt://vigil.test:1883', '--ca', caFile]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('server (from --server)');
    expect(plain.stderr).toContain('plaintext');
    const env = await cli(['run', '--server', 'mqtts://vigil.test', '--ca', caFile], { VIGIL_AGENT_MODEL_PCR: '16' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('modelPcr (from VIGIL_AGENT_MODEL_PCR)');
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'server: mqtts://vigil.test\nca: ca.pem\nwatch:\n  debounceMs: soon\n');
    const yaml = await cli(['run', '--config', file]);
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toContain(`watch.debounceMs (from ${file})`);
    const missing = await cli(['run', '--ca', caFile]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/server.*VIGIL_AGENT_SERVER or --server/);
  });

  it('exits 2 when it is not enrolled and has no token to enroll with', async () => {
    const r = await cli(['run', '--server', 'mqtts://localhost:1', '--ca', caFile, '--state', join(dir, 'unenrolled'), '--tpm', 'swtpm:path=/nonexistent']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/token/);
  });

  it('keeps retrying an enrollment it cannot do yet (TPM unreachable) and stops cleanly on SIGTERM', async () => {
    const agent = startAgent(['run', '--server', 'mqtts://localhost:1', '--ca', caFile, '--state', join(dir, 'waiting'), '--tpm', `swtpm:path=${join(dir, 'no-tpm.sock')}`, '--token', TOKEN, '--reconnect-initial-delay-ms', '100']);
    const first = await agent.waitFor(msg('enrollment attempt failed; retrying'), 'a failed attempt');
    expect(first.failure).toBe('tpm');
    await agent.waitFor((l) => l.msg === 'enrollment attempt failed; retrying' && l !== first, 'a second attempt');
    const { code } = await agent.stop('SIGTERM');
    expect(code).toBe(0);
    expect(JSON.stringify(agent.lines)).not.toContain(TOKEN);
  });

  it('exits 3 when the fleet CA file cannot be read', async () => {
    const r = await cli(['run', '--server', 'mqtts://localhost:1', '--ca', join(dir, 'nope.pem'), '--state', join(dir, 'noca')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nope.pem');
  });

  it('prints the example configuration (the packaged agent.yaml) and the effective one with the token redacted', async () => {
    const example = await cli(['run', '--example-config']);
    expect(example.code).toBe(0);
    expect(example.stdout).toBe(await readFile(new URL('../packaging/agent.yaml', import.meta.url), 'utf8'));
    const effective = await cli(['run', '--print-config', '--server', 'mqtts://vigil.test:8883', '--ca', caFile, '--model', '/m/a', '--model', '/m/b', '--no-watch-follow-symlinks'], { VIGIL_AGENT_TOKEN: TOKEN });
    expect(effective.code).toBe(0);
    expect(effective.stdout).not.toContain(TOKEN);
    expect(effective.stdout).toContain('[redacted]');
    expect(effective.stdout).toMatch(/models:\n {2}- \/m\/a\n {2}- \/m\/b/);
    expect(effective.stdout).toContain('followSymlinks: false');
  });

  it('lists every configuration key as a flag in --help', async () => {
    const help = await cli(['run', '--help']);
    for (const flag of ['--server', '--ca', '--tpm', '--state', '--token', '--model', '--eventlog', '--ima-log', '--model-pcr', '--revoked-hook', '--log-level', '--watch-hash-concurrency']) {
      expect(help.stdout).toContain(flag);
    }
  });
});

describe('vigil-agent status', () => {
  it('exits 3 for a state directory with no agent state', async () => {
    const r = await cli(['status', '--state', join(dir, 'empty'), '--json']);
    expect(r.code).toBe(3);
  });

  it('prints enrollment, connection, TPM, last verdict and next challenge from the status file', async () => {
    const state = join(dir, 'state');
    const now = Date.now();
    await saveEnrollment(state, {
      record: {
        v: 1,
        deviceId: 'ek-0123456789abcdef0123456789abcdef01234567',
        server: 'mqtts://vigil.test:8883',
        bootstrapId: 'ab'.repeat(32),
        enrolledAt: now - 86_400_000,
        certificate: { serial: '0a1b2c', notAfter: now + 3_600_000 },
        tpm: { ekKind: 'rsa', ekName: '000b' + '11'.repeat(32), akKind: 'rsa', akName: '000b' + '22'.repeat(32) },
      },
      certificatePem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      caPem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
    });
    const status: AgentStatus = {
      v: 1,
      pid: process.pid,
      agentVersion: '0.1.0',
      startedAt: now - 60_000,
      updatedAt: now,
      server: 'mqtts://vigil.test:8883',
      enrollment: { enrolled: true, deviceId: 'ek-0123456789abcdef0123456789abcdef01234567', certificateSerial: '0a1b2c', certificateNotAfter: now + 3_600_000 },
      connection: { state: 'connected', since: now - 30_000, connects: 2 },
      tpm: { uri: 'device:/dev/tpmrm0', reachable: true, checkedAt: now, resetCount: 4, restartCount: 0 },
      models: { pcr: 13, files: 3, pending: 0, measuredAt: now - 50_000 },
      lastChallenge: { challengeId: 'AAAAAAAAAAAAAAAAAAAAAA', receivedAt: now - 10_000, expiresAt: now + 20_000, answeredAt: now - 9_000 },
      nextChallengeExpectedAt: now + 50_000,
      lastVerdict: { status: 'affirming', at: now - 9_000, challengeId: 'AAAAAAAAAAAAAAAAAAAAAA', reasons: [] },
    };
    await writeStatusFile(state, status);
    const json = await cli(['status', '--state', state, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { running: boolean; enrollment: AgentStatus['enrollment']; status: AgentStatus };
    expect(report.running).toBe(true); // the pid in the file is this test process, alive
    expect(report.enrollment).toMatchObject({ enrolled: true, deviceId: status.enrollment.deviceId, certificateNotAfter: now + 3_600_000 });
    expect(report.status).toEqual(status);
    const text = await cli(['status', '--state', state], { VIGIL_AGENT_STATE: '/ignored' });
    expect(text.code).toBe(0);
    for (const part of ['enrolled as ek-0123456789abcdef', 'connected since', 'reachable', 'last verdict      affirming', 'next challenge    expected']) expect(text.stdout).toContain(part);

    await writeStatusFile(state, { ...status, pid: 2 ** 22 + 12345, connection: { state: 'disconnected', since: now, connects: 2, nextAttemptAt: now + 4000, lastError: 'ECONNREFUSED' } });
    const dead = JSON.parse((await cli(['status', '--state', state, '--json'])).stdout) as { running: boolean };
    expect(dead.running).toBe(false);
  });
});
