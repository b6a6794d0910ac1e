/**
 * Issue 9, network faults between the real agent and the real server: the
 * built `vigil-agent run` daemon with its own swtpm connects through a TCP
 * proxy (test/harness/proxy.ts) that refuses, resets, stalls and slows its
 * traffic. The agent must come back every time — attesting affirming again —
 * without a second enrollment, a second device, or a stuck state; and an
 * enrollment whose result is lost on the way must still end in one device.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRunArgs, msg, startAgent, type AgentLogLine, type AgentProcess } from '../agent/test/helpers/agent-process.js';
import { startTestServer, type TestServer } from '../agent/test/helpers/server.js';
import { readEnrollment } from '../agent/src/state/index.js';
import type { LogLine } from './harness/broker.js';
import { makeTempDir } from './harness/pki.js';
import { FaultProxy } from './harness/proxy.js';
import { delay } from './harness/sim-fleet.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const KEEPALIVE_SECONDS = 5;

let tmp: { path: string; cleanup: () => Promise<void> };
let tpmA: SwtpmInstance;
let tpmB: SwtpmInstance;
let server: TestServer;
let proxy: FaultProxy;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('vigil-net-');
  [tpmA, tpmB] = await Promise.all([startSwtpm(), startSwtpm({ fresh: true })]);
  server = await startTestServer({ root: tmp.path, tpms: [tpmA, tpmB], config: { 'attestation.intervalSeconds': 2, 'attestation.staleAfterIntervals': 1000 } });
  proxy = await FaultProxy.start(server.port);
});

afterAll(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await proxy?.close();
  await server?.stop();
  await tpmA?.stop();
  await tpmB?.stop();
  await tmp?.cleanup();
});

/** `vigil-agent run` through the proxy, with test-speed timings. */
async function startThroughProxy(name: string, tpm: SwtpmInstance, token: string): Promise<{ agent: AgentProcess; state: string }> {
  const dir = join(tmp.path, name);
  const models = join(dir, 'models');
  await mkdir(models, { recursive: true });
  await writeFile(join(models, 'weights.bin'), `weights of ${name}`);
  const state = join(dir, 'state');
  const agent = startAgent([
    ...agentRunArgs({ server: `mqtts://localhost:${proxy.port}`, ca: server.caFile, tpm: tpm.uri, state, models }),
    '--token',
    token,
    '--reconnect-initial-delay-ms',
    '200',
    '--reconnect-max-delay-ms',
    '1000',
    '--reconnect-connect-timeout-seconds',
    '3',
    '--reconnect-keepalive-seconds',
    String(KEEPALIVE_SECONDS),
    '--enroll-timeout-seconds',
    '5',
    '--log-level',
    'debug',
  ]);
  agents.push(agent);
  return { agent, state };
}

const verdict = (status: string) => (l: AgentLogLine) => l.msg === 'verdict' && l.status === status;
const after = (t: number, match: (l: AgentLogLine) => boolean) => (l: AgentLogLine) => Date.parse(String(l.time)) >= t && match(l);

/** Devices the server holds for this TPM's EK, and enrollments it completed. */
async function enrollmentsOf(deviceId: string): Promise<{ devices: number; enrolls: number }> {
  const audit = await server.store.listAudit({ limit: 100_000 });
  const enrolls = audit.filter((e) => (e.action === 'device.enroll' || e.action === 'device.reenroll') && e.subject === `device:${deviceId}`).length;
  const device = await server.store.getDevice(deviceId);
  return { devices: device === null ? 0 : 1, enrolls };
}

describe('an agent behind a faulty network', () => {
  let agent: AgentProcess;
  let state: string;
  let deviceId: string;

  it('the server unreachable at first: the agent keeps trying and enrolls once it is reachable', async () => {
    proxy.refuse(true);
    ({ agent, state } = await startThroughProxy('a', tpmA, await server.newToken()));
    while (proxy.accepted < 3) await delay(50);
    proxy.refuse(false);
    await agent.waitFor(msg('enrolled'), 'enrolled');
    await agent.waitFor(verdict('affirming'), 'an affirming verdict');
    deviceId = (await readEnrollment(state))!.deviceId;
    expect(await enrollmentsOf(deviceId)).toEqual({ devices: 1, enrolls: 1 });
  });

  it('connections reset three times in a row: it reconnects and attests affirming after each', async () => {
    const enrollingLines = agent.matching(msg('enrolling')).length;
    for (let i = 0; i < 3; i++) {
      const at = Date.now();
      expect(proxy.cut()).toBeGreaterThan(0);
      await agent.waitFor(after(at, msg('disconnected from the server')), 'the disconnect');
      await agent.waitFor(after(at, msg('connected to the server')), 'a reconnect');
      await agent.waitFor(after(at, verdict('affirming')), 'an affirming verdict after the reconnect');
    }
    expect(await enrollmentsOf(deviceId)).toEqual({ devices: 1, enrolls: 1 });
    expect(agent.matching(msg('enrolling'))).toHaveLength(enrollingLines);
  }, 60_000);

  it('a stall longer than the keep-alive: the agent notices, and attests affirming once traffic flows again', async () => {
    proxy.pause();
    const at = Date.now();
    // The keep-alive probe goes unanswered: the agent drops the connection itself.
    await agent.waitFor(after(at, msg('disconnected from the server')), 'the agent to notice the stall');
    proxy.resume();
    // Connections opened during the stall were held; cut them so no half-open one lingers.
    proxy.cut();
    const resumed = Date.now();
    await agent.waitFor(after(resumed, verdict('affirming')), 'an affirming verdict after the stall');
    expect(await enrollmentsOf(deviceId)).toEqual({ devices: 1, enrolls: 1 });
  }, 60_000);

  it('a slow link (every chunk held 300 ms each way): still affirming', async () => {
    proxy.delay(300);
    try {
      const at = Date.now();
      await agent.waitFor(after(at, verdict('affirming')), 'an affirming verdict over the slow link');
    } finally {
      proxy.delay(0);
    }
    const status = await server.store.getDevice(deviceId);
    expect(status?.revoked).toBe(false);
    expect(status?.status).toBe('affirming');
  }, 60_000);
});

describe('an enrollment whose result is lost', () => {
  it('the server enrolled the device but the result never arrived: the agent ends enrolled as that one device, not two, and attests', async () => {
    // The moment the registrar logs the enrollment (synchronously, before it publishes the
    // result), traffic to the agents stops: the result is stuck in the proxy.
    const lines = server.logs.lines as LogLine[] & { push: (...l: LogLine[]) => number };
    const push = lines.push.bind(lines);
    let stalledAt = 0;
    lines.push = (...items: LogLine[]) => {
      for (const l of items) {
        if (stalledAt === 0 && l.msg === 'device enrolled') {
          proxy.pause('down');
          stalledAt = Date.now();
        }
      }
      return push(...items);
    };
    // One use: the token is spent by the enrollment whose result is lost, and the client must not need another.
    const token = await server.newToken({ uses: 1 });
    const { agent, state } = await startThroughProxy('b', tpmB, token);
    try {
      while (stalledAt === 0) await delay(20);
      // The agent's enrollment attempt times out waiting; then the link comes back (reset).
      await agent.waitFor(after(stalledAt, msg('enrollment attempt failed; retrying')), 'the agent to give up on the lost result');
      proxy.cut();
      proxy.resume();
      await agent.waitFor(verdict('affirming'), 'an affirming verdict in the end');
      const deviceId = (await readEnrollment(state))!.deviceId;
      // One device, enrolled once; the retry was answered with the same certificate (audited as enroll.resume).
      expect(await enrollmentsOf(deviceId)).toEqual({ devices: 1, enrolls: 1 });
      const audit = await server.store.listAudit({ limit: 100_000 });
      expect(audit.filter((e) => e.action === 'enroll.resume' && e.subject === `device:${deviceId}`).length).toBeGreaterThanOrEqual(1);
      const certificates = await server.store.listCertificates(deviceId);
      expect(certificates).toHaveLength(1);
      expect(agent.matching((l) => l.msg === 'enrollment attempt failed; retrying').length).toBeGreaterThanOrEqual(1);
    } finally {
      lines.push = push;
      proxy.resume();
    }
  }, 90_000);
});
