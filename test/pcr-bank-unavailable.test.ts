/**
 * PCR banks a device does not have. A policy imported from another
 * platform's event log replay carries golden values for a bank (sha384)
 * the device's TPM has not allocated. Before, the challenge asked for that
 * bank, the agent's quote failed (`PcrNotAllocatedError`), the device never
 * answered, `vigil-server attest` timed out and the device went stale. Now
 * the verifier asks only for the banks the agent reported at enrollment, an
 * agent asked for a bank it lacks quotes the banks it has, and the verdict
 * names the missing bank (`boot/pcr-bank-unavailable`).
 *
 * Real parts: two swtpms allocated with sha256 only, the built `vigil-agent
 * run` for each, the server in-process, the built `vigil-server` for the
 * operator's commands (through the admin API).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ear } from '@vigil/protocol';
import { agentRunArgs, msg, startAgent, type AgentLogLine, type AgentProcess } from '../agent/test/helpers/agent-process.js';
import { startTestServer, type TestServer } from '../agent/test/helpers/server.js';
import { readEnrollment } from '../agent/src/state/index.js';
import type { IssuedChallenge } from '../server/src/verifier/challenges/sealed-challenge.js';
import { VerifierService } from '../server/src/verifier/index.js';
import { makeTempDir } from './harness/pki.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

let tmp: { path: string; cleanup: () => Promise<void> };
let tpmCurrent: SwtpmInstance;
let tpmLegacy: SwtpmInstance;
let server: TestServer;
const agents: AgentProcess[] = [];

async function vigil(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SERVER_CLI, ...args, '--data', server.paths.root]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `vigil-agent run` with a token, a model folder, no event log or IMA list (swtpm has none). */
async function startDevice(name: string, tpm: SwtpmInstance): Promise<{ agent: AgentProcess; deviceId: string }> {
  const dir = join(tmp.path, name);
  await mkdir(join(dir, 'models'), { recursive: true });
  await writeFile(join(dir, 'models', 'weights.bin'), `weights of ${name}`);
  const agent = startAgent([
    ...agentRunArgs({ server: server.url, ca: server.caFile, tpm: tpm.uri, state: join(dir, 'state'), models: join(dir, 'models') }),
    '--token',
    await server.newToken(),
    '--log-level',
    'debug',
  ]);
  agents.push(agent);
  await agent.waitFor((l: AgentLogLine) => l.msg === 'verdict' && l.status === 'affirming', 'an affirming verdict without a policy');
  return { agent, deviceId: (await readEnrollment(join(dir, 'state')))!.deviceId };
}

/** The verdict `vigil-server attest --json` printed. */
function earOf(stdout: string): Ear {
  return JSON.parse(stdout) as Ear;
}

let current: { agent: AgentProcess; deviceId: string };
let legacy: { agent: AgentProcess; deviceId: string };

beforeAll(async () => {
  tmp = await makeTempDir('vigil-pcr-banks-');
  // Two TPMs of their own manufacture (own EKs: two devices), each with the sha256 bank only.
  [tpmCurrent, tpmLegacy] = await Promise.all([startSwtpm({ pcrBanks: 'sha256', fresh: true }), startSwtpm({ pcrBanks: 'sha256', fresh: true })]);
  expect(tpmCurrent.pcrBanks).toEqual(['sha256']);
  server = await startTestServer({ root: tmp.path, tpms: [tpmCurrent, tpmLegacy] });
  [current, legacy] = await Promise.all([startDevice('current', tpmCurrent), startDevice('legacy', tpmLegacy)]);

  // A device enrolled by an agent from before banks were reported: its facts do not name them.
  await run('sqlite3', [server.paths.database, `UPDATE devices SET facts = json_remove(facts, '$.tpm.pcrBanks') WHERE id = '${legacy.deviceId}'`]);

  // Golden values as `vigil-agent eventlog replay --json` prints them, from a platform with a sha384 bank.
  const replay = {
    format: 'crypto-agile',
    pcrs: {
      sha256: { '0': '00'.repeat(32), '1': '00'.repeat(32) },
      sha384: { '0': 'ab'.repeat(48), '1': 'cd'.repeat(48), '7': 'ef'.repeat(48) },
    },
  };
  const file = join(tmp.path, 'replay.json');
  await writeFile(file, JSON.stringify(replay));
  const imported = await vigil('policy', 'import', '--name', 'other-platform', '--replay', file);
  expect(imported.code, imported.stderr).toBe(0);
  const assigned = await vigil('policy', 'assign', 'other-platform', '--all');
  expect(assigned.code, assigned.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await server?.stop();
  await tpmCurrent?.stop();
  await tpmLegacy?.stop();
  await tmp?.cleanup();
});

/** The challenge a verdict answered, as the server sealed it (its PCR selection is in the id). */
function askedOf(ear: Ear, deviceId: string): IssuedChallenge | undefined {
  const opened = server.running.context.services.get(VerifierService)!.verifier.seal.open(ear['vigil.challenge-id']!, deviceId);
  return opened.kind === 'sealed' ? opened.challenge : undefined;
}

describe('a policy with golden values in a bank the TPM has not allocated', () => {
  it('the agent reports its allocated banks at enrollment', async () => {
    const device = await server.store.getDevice(current.deviceId);
    expect(device?.facts.tpm.pcrBanks).toEqual(['sha256']);
  });

  it('vigil-server attest answers with a verdict naming the missing bank; the challenge asked only for the banks the device has', async () => {
    const attest = await vigil('attest', current.deviceId, '--timeout', '30', '--json');
    expect(attest.stderr).not.toMatch(/timed out|timeout/i);
    expect(attest.code).toBe(1); // not affirming
    const ear = earOf(attest.stdout);
    expect(ear.submods.identity?.['ear.status']).toBe('affirming');
    expect(ear.submods.boot?.['ear.status']).toBe('contraindicated');
    const reasons = ear.submods.boot?.['vigil.reasons'] ?? [];
    expect(reasons.map((r) => [r.code, r.where?.bank])).toEqual([['pcr-bank-unavailable', 'sha384']]);
    expect(reasons[0]!.message).toContain('the TPM allocates sha256');
    // The sha256 golden values were checked, and hold (no pcr-value-not-allowed, no pcr-not-quoted).
    const challenge = askedOf(ear, current.deviceId);
    expect(Object.keys(challenge!.pcrSelection)).toEqual(['sha256']);
    expect(challenge!.pcrSelection.sha256).toEqual(expect.arrayContaining([0, 1]));
  });

  it('an agent asked for a bank it lacks (its facts never said) quotes the banks it has, and the verdict names the rest', async () => {
    const attest = await vigil('attest', legacy.deviceId, '--timeout', '30', '--json');
    expect(attest.code).toBe(1);
    const ear = earOf(attest.stdout);
    const challenge = askedOf(ear, legacy.deviceId);
    expect(Object.keys(challenge!.pcrSelection).sort()).toEqual(['sha256', 'sha384']);
    expect(ear.submods.identity?.['ear.status']).toBe('affirming');
    const reasons = ear.submods.boot?.['vigil.reasons'] ?? [];
    expect(reasons.map((r) => [r.code, r.where?.bank])).toEqual([['pcr-bank-unavailable', 'sha384']]);
    expect(reasons[0]!.message).toContain('the quote has no such bank');
    const warned = await legacy.agent.waitFor(msg('the challenge asks for PCR banks this TPM has not allocated: quoted the others (the verdict names the missing banks)'));
    expect(warned.banks).toEqual(['sha384']);
  });
});
