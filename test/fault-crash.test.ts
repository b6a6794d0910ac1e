/**
 * Issue 9, nothing lost: `vigil-server start` (the built program, its own
 * process) is killed with SIGKILL while 200 simulated devices attest as
 * fast as it answers them. The verifier publishes a verdict only after the
 * store committed it, so after the restart every verdict any device
 * received (collected on the device side) must be in the database, with the
 * same challenge and status; the devices reconnect and attest again by
 * themselves; the database passes SQLite's integrity check and the audit
 * chain verifies (`vigil-server audit verify`, exit 0).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { overallStatus } from '@vigil/protocol';
import { loadFleetCaFiles } from '../server/src/pki/index.js';
import { openSqliteStore } from '../server/src/store/index.js';
import type { DataDir } from '../server/src/datadir.js';
import { makeTempDir } from './harness/pki.js';
import { delay, enrollSimDevices, initDataDir, SimDevice } from './harness/sim-fleet.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');
const DEVICES = Number(process.env.CRASH_DEVICES ?? 200);
/** Verdicts the fleet must have received before the kill: the server is busy, not idle. */
const BEFORE_KILL = Number(process.env.CRASH_BEFORE_KILL ?? 400);

let tmp: { path: string; cleanup: () => Promise<void> };
let paths: DataDir;
const fleet: SimDevice[] = [];
const verdictsAtKill = new Map<string, number>();
const serverErrors: string[] = [];

/** For a failure message: the devices still waiting, and what they saw. */
function fleetState(): string {
  const late = fleet.filter((d) => d.verdicts().size <= (verdictsAtKill.get(d.deviceId) ?? -1));
  const sample = late.slice(0, 5).map((d) => `${d.deviceId} connected=${d.client?.connected} results=${d.results.items.map((r) => (r.ok ? 'v' : r.error)).join(',').slice(-80)} challenges=${d.challenges.items.length} drops=${d.disconnects}`);
  return `${received()} verdicts; ${late.length} devices without one since the kill: ${sample.join('; ')}`;
}
const children: ChildProcess[] = [];

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | null>;
}

/** `vigil-server start` on 127.0.0.1 (`port` 0 picks one); resolves at its ready line. */
function startServer(port: number): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'start', '--data', paths.root, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info'], {
    env: { ...process.env, VIGIL_ATTESTATION_INTERVAL_SECONDS: '3600', VIGIL_LIMITS_PUBLISH_RATE_PER_SECOND: '200', VIGIL_LIMITS_PUBLISH_BURST: '400' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const raw: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (raw.length < 200) raw.push(line);
      try {
        const parsed = JSON.parse(line) as { msg?: string; port?: number; level?: number };
        if ((parsed.level ?? 0) >= 50) serverErrors.push(line.slice(0, 500));
        if (parsed.msg === 'vigil-server ready') resolve({ child, port: parsed.port!, exited });
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`vigil-server start exited with ${code}: ${raw.join('\n')}`)));
  });
}

function received(): number {
  return fleet.reduce((n, d) => n + d.verdicts().size, 0);
}

async function until(condition: () => boolean, what: string, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${fleetState()}; server errors: ${serverErrors.join(' | ') || 'none'}`);
    await delay(50);
  }
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-crash-');
  paths = await initDataDir(tmp.path);
  const ca = await loadFleetCaFiles(paths);
  const store = await openSqliteStore(paths.database, { create: false });
  const identities = await enrollSimDevices(store, ca, DEVICES, 'crash');
  await store.close();
  for (const id of identities) fleet.push(new SimDevice(id, { autoAnswer: true, loop: true, reconnectMs: 250 }));
});

afterAll(async () => {
  for (const d of fleet) d.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await tmp?.cleanup();
});

it('SIGKILL under load loses no published verdict; devices reconnect and resume; the audit chain verifies', async () => {
  const first = await startServer(0);
  const caPem = (await loadFleetCaFiles(paths)).certificatePem;
  for (let i = 0; i < fleet.length; i += 25) await Promise.all(fleet.slice(i, i + 25).map((d) => d.connect(first.port, caPem)));

  await until(() => received() >= BEFORE_KILL, `${BEFORE_KILL} verdicts`);
  first.child.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  const atKill = new Map(fleet.map((d) => [d.deviceId, d.verdicts().size]));
  for (const [k, v] of atKill) verdictsAtKill.set(k, v);
  await until(() => fleet.every((d) => !d.client!.connected), 'every device to notice');

  // Same port: the devices' own reconnect logic finds the new process.
  const second = await startServer(first.port);
  await until(() => fleet.every((d) => d.verdicts().size > atKill.get(d.deviceId)!), 'a verdict for every device after the restart');
  for (const d of fleet) d.close();
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);

  const store = await openSqliteStore(paths.database, { create: false });
  try {
    let checked = 0;
    for (const d of fleet) {
      const records = await store.listAttestations(d.deviceId, 100_000);
      for (const [challengeId, result] of d.verdicts()) {
        const stored = records.filter((r) => r.challengeId === challengeId).map((r) => ({ status: r.status, verdict: r.verdict }));
        expect(stored, `${d.deviceId}: the verdict for ${challengeId} is not in the database`).toContainEqual({ status: overallStatus(result.verdict), verdict: result.verdict });
        // Honest devices: every verdict trusts them (a replayed or duplicated answer would not).
        expect(overallStatus(result.verdict)).toBe('affirming');
        checked++;
      }
      expect(d.disconnects).toBeGreaterThanOrEqual(1);
    }
    expect(checked).toBeGreaterThan(BEFORE_KILL);
    expect((await store.verifyAuditChain()).ok).toBe(true);
  } finally {
    await store.close();
  }
  const db = new Database(paths.database, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    db.close();
  }
  const audit = await run(process.execPath, [CLI, 'audit', 'verify', '--data', paths.root]);
  expect(audit.stdout + audit.stderr).not.toMatch(/broken/i);
}, 300_000);
