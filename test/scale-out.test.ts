/**
 * Beyond one machine, end to end (`npm run test:scale-out`): Mosquitto 2
 * (the reference configuration, dynamic-security plugin) + PostgreSQL +
 * two `vigil-server start` processes in external-broker mode, and a fleet
 * of 200 devices: 196 simulated (software AKs, real TPMS_ATTEST and
 * TPMT_SIGNATURE structures, test/harness/sim-fleet.ts) and 4 real agents
 * (`vigil-agent` on swtpm), enrolled through a replica's enrollment
 * listener and attesting through the broker.
 *
 * - every device attests (an affirming verdict), the load split between
 *   the replicas;
 * - one replica is killed (SIGKILL) mid-run: every device attests again
 *   through the other; every verdict a device ever received is in the
 *   store; no challenge is accepted twice (and evidence replayed to both
 *   replicas at once is accepted once);
 * - a device revoked through either replica (its admin CLI) is disconnected
 *   at the broker and kept off its topics.
 *
 * Skipped unless VIGIL_SCALE_OUT=1 (set by the npm script) and Mosquitto
 * and PostgreSQL are installed.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChallenge, encodeEvidence, overallStatus, ProtocolError, topics, type AttestationResult } from '@vigil/protocol';
import { startAgent, type AgentLogLine, type AgentProcess } from '../agent/test/helpers/agent-process.js';
import { openPostgresStore, type Store } from '../server/src/store/index.js';
import { mosquittoAvailable, startMosquitto, type MosquittoBroker } from './harness/mosquitto.js';
import { postgresAvailable, startPostgres, type PostgresCluster } from './harness/postgres.js';
import { makeReplicaDirs, SERVER_CLI, startReplicaProcess, type ReplicaDirs, type ReplicaProcess, type ReplicaSettings } from './harness/replicas.js';
import { delay, enrollSimDevices, simEvidence, SimDevice } from './harness/sim-fleet.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const run = promisify(execFile);
const enabled = process.env['VIGIL_SCALE_OUT'] === '1' && mosquittoAvailable && postgresAvailable;

const SIMULATED = 196;
const REAL = 4;
const INTERVAL_S = 4;

let pg: PostgresCluster;
let mq: MosquittoBroker;
let dirs: ReplicaDirs;
let store: Store;
const replicas = new Map<string, ReplicaProcess>();
const sims: SimDevice[] = [];
const tpms: SwtpmInstance[] = [];
const agents: AgentProcess[] = [];
let storeUrl: string;

function settings(name: string): ReplicaSettings {
  return { name, brokerUrl: mq.url, storeUrl, crlReloadCommand: mq.reloadCommand, attestIntervalSeconds: INTERVAL_S, heartbeatSeconds: 1 };
}
/** What every replica process is given besides its settings. */
const replicaEnv = () => ({ VIGIL_ENROLLMENT_MANUFACTURER_CA_FILES: 'tpm-manufacturers.pem' });

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(250);
  }
}

/** Messages the broker logged as delivered to (`to`) or received from (`from`) each replica on topics ending in `suffix`. */
function brokerCount(direction: 'to' | 'from', suffix: string): Record<'a' | 'b', number> {
  const pattern = new RegExp(`${direction === 'to' ? 'Sending PUBLISH to' : 'Received PUBLISH from'} vigil:verifier:([ab]) .*'vigil/v1/devices/[^/']+/${suffix}'`);
  const out = { a: 0, b: 0 };
  for (const line of mq.log().split('\n')) {
    const m = pattern.exec(line);
    if (m !== null) out[m[1] as 'a' | 'b']++;
  }
  return out;
}

/**
 * Like the agent, a device answers each challenge once: a challenge can
 * reach it twice (the verifier re-sends an open challenge to a device that
 * asks again within a second), and answering twice would be a replay.
 */
function answerEachChallengeOnce(d: SimDevice): void {
  const answered = new Set<string>();
  d.client!.on('message', (topic: string, payload: Buffer) => {
    if (topic !== topics.deviceChallenge(d.deviceId)) return;
    const c = decodeChallenge(payload);
    if (c instanceof ProtocolError || answered.has(c.challengeId)) return;
    answered.add(c.challengeId);
    void d.publishEvidence(simEvidence(d.tpm, c)).catch(() => undefined);
  });
}

/** Waits for an agent's log line, naming the agent's last lines when it does not come. */
async function agentLine(a: AgentProcess, what: string, match: (l: AgentLogLine) => boolean): Promise<void> {
  await until(what, () => a.lines.some(match), 120_000).catch((err: Error) => {
    throw new Error(`${err.message}; the agent's last lines:\n${a.lines.slice(-12).map((l) => JSON.stringify(l)).join('\n')}`);
  });
}

/** The overall EAR status of a verdict a device received ('error' for a result without one). */
const statusOf = (r: AttestationResult): string => (r.ok ? overallStatus(r.verdict) : 'error');

/** Challenges issued to a device after `t` (a challenge lives 30 s, the default TTL). */
const issuedAfter = (d: SimDevice, t: number) => new Set(d.challenges.items.filter((c) => c.expiresAt - 30_000 >= t).map((c) => c.challengeId));

/** The device received an affirming verdict for a challenge issued after `t`. */
const affirmedSince = (d: SimDevice, t: number) => {
  const fresh = issuedAfter(d, t);
  return d.results.items.some((r) => r.ok && statusOf(r) === 'affirming' && fresh.has(r.challengeId));
};

const agentVerdict = (status: string, since = 0) => (l: AgentLogLine) => l.msg === 'verdict' && l.status === status && Date.parse(String(l.time)) >= since;

beforeAll(async () => {
  if (!enabled) return;
  pg = (await startPostgres())!;
  storeUrl = await pg.createDatabase('vigil');
  dirs = await makeReplicaDirs(['a', 'b']);
  mq = (await startMosquitto(dirs.ca, { replicas: ['a', 'b'] }))!;
  store = await openPostgresStore(storeUrl, { poolSize: 4 });

  // Real TPMs: each of its own manufacture (one EK each), whose CAs the replicas trust.
  tpms.push(...(await Promise.all(Array.from({ length: REAL }, () => startSwtpm({ fresh: true })))));
  const manufacturers = tpms.flatMap((t) => [t.ekCaCert, t.ekIssuerCert]).join('');
  for (const d of dirs.dirs.values()) await writeFile(join(d.root, 'tpm-manufacturers.pem'), manufacturers);

  // The simulated fleet, enrolled before the replicas start: they give it broker access when they connect (reconciliation).
  const identities = await enrollSimDevices(store, dirs.ca, SIMULATED, 'sim');

  for (const name of ['a', 'b']) replicas.set(name, await startReplicaProcess(dirs.dirs.get(name)!, settings(name), replicaEnv()));
  await until('both replicas to see each other', () =>
    ['a', 'b'].every((n) => replicas.get(n)!.lines.some((l) => l.msg === 'live replicas changed' && Array.isArray(l.replicas) && (l.replicas as string[]).length === 2)),
  );
  await until('the simulated fleet to be admitted at the broker', async () => (await mq.ctl(['getClient', identities.at(-1)!.deviceId])).includes(`vigil:device:${identities.at(-1)!.deviceId}`));

  // Real agents: enroll on replica a's enrollment listener, then run against the broker.
  const caFile = dirs.dirs.get('a')!.caCert;
  const bootstrapPort = Number(replicas.get('a')!.ready['port']);
  for (const [i, tpm] of tpms.entries()) {
    const state = join(dirs.root, `agent-${i}`, 'state');
    const token = (await run(process.execPath, [SERVER_CLI, 'token', 'create', '--data', dirs.dirs.get('a')!.root], { env: { ...process.env, VIGIL_STORE_URL: storeUrl } })).stdout.trim();
    const enrolled = await run(process.execPath, [join(import.meta.dirname, '..', 'agent', 'dist', 'cli', 'main.js'), 'enroll', '--server', `mqtts://localhost:${bootstrapPort}`, '--ca', caFile, '--tpm', tpm.uri, '--state', state, '--json'], {
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_'))), VIGIL_AGENT_TOKEN: token },
    });
    expect((JSON.parse(enrolled.stdout) as { deviceId: string }).deviceId).toMatch(/^ek-/);
    agents.push(
      startAgent([
        'run',
        '--server',
        mq.url,
        '--ca',
        caFile,
        '--tpm',
        tpm.uri,
        '--state',
        state,
        '--eventlog',
        join(dirs.root, 'absent-event-log'),
        '--ima-log',
        join(dirs.root, 'absent-ima-log'),
        '--reconnect-initial-delay-ms',
        '200',
        '--reconnect-max-delay-ms',
        '2000',
        '--log-level',
        'info',
      ]),
    );
  }

  // The simulated devices connect to the broker and answer each challenge once; they wait for the schedule's
  // (the real agents ask for one when they connect). The first one answers only when the test says (it will replay its evidence).
  for (const identity of identities) sims.push(new SimDevice(identity, { reconnectMs: 1000 }));
  for (let i = 0; i < sims.length; i += 20) {
    await Promise.all(
      sims.slice(i, i + 20).map(async (d) => {
        await d.connect(mq.port, dirs.ca.certificatePem);
        if (d !== sims[0]) answerEachChallengeOnce(d);
      }),
    );
  }
}, 240_000);

afterAll(async () => {
  for (const d of sims) d.close();
  for (const a of agents) await a.stop('SIGKILL');
  for (const r of replicas.values()) await r.kill().catch(() => undefined);
  await store?.close();
  for (const t of tpms) await t.stop();
  await mq?.stop();
  await pg?.stop();
  await dirs?.cleanup();
});

describe.skipIf(!enabled)('200 devices, Mosquitto, PostgreSQL and two verifier processes', () => {
  it('all 200 devices attest, the work split between the two replicas', { timeout: 180_000 }, async () => {
    expect(statusOf(await sims[0]!.attest())).toBe('affirming');
    await until('every simulated device to have an affirming verdict', () => sims.every((d) => affirmedSince(d, 0)), 120_000);
    for (const a of agents) await agentLine(a, 'an affirming verdict of a real agent', agentVerdict('affirming'));
    const devices = await store.listDevices();
    expect(devices).toHaveLength(SIMULATED + REAL);
    expect(devices.filter((d) => d.status !== 'affirming' || d.lastVerifiedAt === null).map((d) => `${d.id} ${d.status} ${d.revoked}`)).toEqual([]);
    // The broker's own log: both replicas received evidence (shared subscription) and sent challenges (split schedules).
    const evidence = brokerCount('to', 'evidence');
    const challenges = brokerCount('from', 'challenge');
    expect(evidence.a + evidence.b).toBeGreaterThanOrEqual(SIMULATED + REAL);
    expect(Math.min(evidence.a, evidence.b)).toBeGreaterThan((evidence.a + evidence.b) / 4);
    expect(Math.min(challenges.a, challenges.b)).toBeGreaterThan((challenges.a + challenges.b) / 4);
  });

  it('killing one replica mid-run loses no verdict and accepts no challenge twice', { timeout: 300_000 }, async () => {
    // A replay aimed at both replicas: the same evidence twice, back to back (the broker hands the copies out in turn).
    const target = sims[0]!;
    const replayed = await target.freshChallenge();
    const evidence = encodeEvidence(simEvidence(target.tpm, replayed));
    await Promise.all([target.publishEvidence(evidence), target.publishEvidence(evidence)]);
    const copies = await until('both copies of the replayed evidence to be recorded', async () => {
      const recorded = (await store.listAttestations(target.deviceId, 100)).filter((a) => a.challengeId === replayed.challengeId);
      return recorded.length >= 2 ? recorded : undefined;
    });
    expect(copies.map((a) => a.status).sort()).toEqual(['affirming', 'contraindicated']);
    expect(copies.find((a) => a.status === 'contraindicated')!.reasons.map((r) => r.code)).toContain('challenge-used');
    target.close();

    // Kill replica a while the fleet attests.
    await delay(1500);
    const killedAt = Date.now();
    await replicas.get('a')!.kill();
    await until('replica b to be alone', () => replicas.get('b')!.lines.some((l) => l.msg === 'live replicas changed' && Date.parse(String(l.time)) >= killedAt - 1000 && (l.replicas as string[]).length === 1));

    // Every device (but the one revoked for its replay) attests again, through b.
    const live = sims.slice(1);
    await until('every simulated device to attest again after the kill', () => live.every((d) => affirmedSince(d, killedAt)), 120_000);
    for (const a of agents) await agentLine(a, 'an affirming verdict of a real agent after the kill', agentVerdict('affirming', killedAt + 1000));

    // No verdict lost: every verdict a device received is in the store, as it was published.
    // (What the devices received is taken first: the fleet keeps attesting while the store is read.)
    const receivedSoFar = new Map(sims.map((d) => [d, [...d.results.items]]));
    const agentVerdicts = agents.flatMap((a) => a.lines.filter((l) => l.msg === 'verdict'));
    const attestations = new Map<string, Array<{ status: string; reasons: readonly { code: string }[] }>>();
    for (const d of await store.listDevices()) {
      for (const a of await store.listAttestations(d.id, 10_000)) {
        if (a.challengeId === null) continue;
        const list = attestations.get(a.challengeId) ?? [];
        list.push({ status: a.status, reasons: a.reasons });
        attestations.set(a.challengeId, list);
      }
    }
    let received = 0;
    for (const [d, results] of receivedSoFar) {
      for (const r of results) {
        if (!r.ok) continue;
        received++;
        expect(attestations.get(r.challengeId)?.map((a) => a.status) ?? [], `${d.deviceId} ${r.challengeId}`).toContain(statusOf(r));
      }
    }
    expect(received).toBeGreaterThan(2 * sims.length);
    expect(agentVerdicts.length).toBeGreaterThanOrEqual(2 * REAL);
    for (const l of agentVerdicts) {
      expect(attestations.get(String(l.challengeId))?.map((x) => x.status) ?? [], `agent verdict ${String(l.challengeId)}`).toContain(l.status);
    }
    // No challenge accepted twice: at most one attestation per challenge got past the freshness check.
    for (const [challengeId, list] of attestations) {
      const accepted = list.filter((a) => !a.reasons.some((r) => r.code.startsWith('challenge-')));
      expect(accepted.length, challengeId).toBeLessThanOrEqual(1);
    }
    expect(attestations.get(replayed.challengeId)!.filter((a) => a.reasons.some((r) => r.code === 'challenge-used'))).toHaveLength(1);
    expect((await store.getDevice(target.deviceId))!.revoked).toBe(true);
    expect((await store.verifyAuditChain()).ok).toBe(true);
  });

  it('a device revoked through either replica is disconnected at the broker and kept off its topics', { timeout: 180_000 }, async () => {
    // Replica a is gone: restart it (same data directory), then revoke one device through each replica's admin CLI.
    const restartedAt = Date.now();
    replicas.set('a', await startReplicaProcess(dirs.dirs.get('a')!, settings('a'), replicaEnv()));
    await until('replica a to rejoin', () => replicas.get('b')!.lines.some((l) => l.msg === 'live replicas changed' && (l.replicas as string[]).length === 2 && Date.parse(String(l.time)) >= restartedAt));
    for (const [via, device] of [
      ['a', sims[1]!],
      ['b', sims[2]!],
    ] as const) {
      const before = device.disconnects;
      const out = await run(process.execPath, [SERVER_CLI, 'revoke', device.deviceId, '--reason', `scale-out test via ${via}`, '--data', dirs.dirs.get(via)!.root], {
        env: { ...process.env, VIGIL_STORE_URL: storeUrl },
      });
      expect(out.stdout).toContain(`device ${device.deviceId} revoked`);
      expect(out.stdout).not.toContain('pending');
      await until(`${device.deviceId} to be disconnected by the broker`, () => device.disconnects > before);
      await until('its dynamic-security client to be disabled', async () => (await mq.ctl(['getClient', device.deviceId])).includes('Disabled: true'));
      expect(await mq.ctl(['getClient', device.deviceId])).not.toContain(`vigil:device:${device.deviceId}`);
      device.close();
    }
  });
});

