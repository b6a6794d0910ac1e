/**
 * Smoke test of the benchmarks (issue 8): every benchmark the runner lists
 * (`node bench/dist/main.js --list`, so a new one cannot be left out) runs
 * at tiny size (`--quick`) as its own process, must exit 0 and leave a
 * result file that matches the record schema (`bench/src/record.ts`). The
 * figures mean nothing at this size; what this proves is that every code
 * path of every benchmark still runs to the end. Results go to a temp dir
 * (VIGIL_BENCH_RESULTS), never over the recorded ones in bench/results/.
 *
 * The benchmarks are started together, three at a time (most of their time
 * is waiting: swtpm, timers, the server's schedule), and each test awaits
 * its own. The one that needs Mosquitto and PostgreSQL (`replicas`) is
 * skipped, under a name that says so, where they are not installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBenchRecord, type BenchRecord } from '../bench/src/record.js';
import { makeTempDir } from './harness/pki.js';
import { findPostgresBinDir } from './harness/postgres.js';

const BENCH = join(import.meta.dirname, '..', 'bench', 'dist', 'main.js');
const names = JSON.parse(execFileSync(process.execPath, [BENCH, '--list'], { encoding: 'utf8' })) as string[];

function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const externalBrokerMissing = !onPath('mosquitto') || findPostgresBinDir() === undefined;
const missing = (name: string): boolean => name === 'replicas' && externalBrokerMissing;

interface Outcome {
  readonly code: number | null;
  readonly output: string;
}

let dir: Awaited<ReturnType<typeof makeTempDir>>;
const runs = new Map<string, Promise<Outcome>>();

/** At most `width` benchmarks at once, started in the order asked. */
function limiter(width: number): <T>(task: () => Promise<T>) => Promise<T> {
  let free = width;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next !== undefined) next();
    else free++;
  };
  return async (task) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      release();
    }
  };
}

function runQuick(name: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BENCH, '--quick', name],
      { env: { ...process.env, VIGIL_BENCH_RESULTS: dir.path }, maxBuffer: 64 * 2 ** 20, timeout: 240_000, killSignal: 'SIGTERM' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, output: `${stdout}\n${stderr}`.slice(-4000) });
      },
    );
  });
}

beforeAll(async () => {
  dir = await makeTempDir('vigil-bench-smoke-');
  // Longest first, so the pool ends together.
  const order = ['agent', 'tamper', 'verify', 'fleet', 'replicas', 'enroll', 'revocation'];
  const sorted = [...names].sort((a, b) => (order.indexOf(a) === -1 ? 99 : order.indexOf(a)) - (order.indexOf(b) === -1 ? 99 : order.indexOf(b)));
  const limit = limiter(3);
  for (const name of sorted.filter((n) => !missing(n))) runs.set(name, limit(() => runQuick(name)));
});

afterAll(async () => {
  // Every started benchmark has ended (each test awaited its own); only the files remain.
  await Promise.all(runs.values());
  await dir?.cleanup();
});

function readRecord(name: string): BenchRecord {
  const file = join(dir.path, `${name}.quick.json`);
  expect(existsSync(file), `${name} wrote ${file}`).toBe(true);
  const checked = checkBenchRecord(JSON.parse(readFileSync(file, 'utf8')));
  if (!checked.ok) throw new Error(`${name}.quick.json does not match the record schema: ${checked.errors.join('; ')}`);
  return checked.record;
}

/** What some benchmarks promise beyond the common record (issue 8's interface). */
function checkFigures(name: string, result: Record<string, unknown>): void {
  if (name === 'verify') {
    for (const key of ['verdicts_per_s', 'p50_ms', 'p99_ms', 'raw_verify_per_s', 'ratio']) expect(typeof result[key], `verify.${key}`).toBe('number');
    expect(result['evidence_without_result']).toBe(0);
  }
  if (name === 'fleet') {
    const ledger = result['ledger'] as { server: { simulated: { issued: number } }; devices: { received: number } };
    // The ledger ran: the server issued challenges in the window and the devices saw them.
    expect(ledger.server.simulated.issued).toBeGreaterThan(0);
    expect(ledger.devices.received).toBeGreaterThan(0);
    expect(typeof result['lost_verdicts']).toBe('number');
    expect((result['timeline'] as unknown[]).length).toBeGreaterThan(0);
    expect(result['search']).toHaveProperty('largest_fleet_p99_under_1s');
  }
  if (name === 'enroll') {
    const simulated = result['simulated'] as { parallel: { devices: number } };
    expect(result['devices_in_store']).toBeGreaterThanOrEqual(simulated.parallel.devices);
  }
  if (name === 'floor') {
    // The floor, its two comparisons and the ladder's three rungs each ran; the last stored verdicts (the run itself fails
    // if the devices ever hold more verdicts than the store has rows: bench/src/floor/rig.ts).
    const variants = result['variants'] as Record<string, { verdicts: number; stored_attestations?: number }>;
    expect(Object.keys(variants)).toEqual(['tls', 'tcp', 'tls-nocrypto', 'mqtt', 'mqtt-json', 'mqtt-json-sqlite']);
    for (const [variant, w] of Object.entries(variants)) expect(w.verdicts, `floor ${variant}`).toBeGreaterThan(0);
    expect(variants['mqtt-json-sqlite']!.stored_attestations).toBeGreaterThan(0);
    expect(result['design_floor_verdicts_per_s']).toBeGreaterThan(0);
  }
  if (name === 'wake') {
    // Every rate measured, each with a CPU time, an active time and the job's time after a wake.
    const rows = result['rows'] as Array<Record<string, number>>;
    expect(rows.map((r) => r['jobs_per_wake'])).toEqual([1, 1, 1, 10, 10]);
    for (const r of rows) {
      expect(r['wakes_per_s']).toBeGreaterThan(0);
      for (const key of ['cpu_us_per_wake', 'active_us_per_wake', 'job_us', 'slowdown']) expect(r[key], `wake.${key}`).toBeGreaterThan(0);
    }
  }
  if (name === 'store') {
    // Both windows wrote every verdict, each with a cost; the grown one after the history was filled.
    const empty = result['empty'] as Record<string, number>;
    const grown = result['grown'] as Record<string, number>;
    for (const w of [empty, grown]) {
      expect(w['verdicts']).toBeGreaterThan(0);
      for (const key of ['loop_us_per_verdict', 'cpu_us_per_verdict']) expect(w[key], `store.${key}`).toBeGreaterThan(0);
    }
    expect(empty['history_rows']).toBe(0);
    expect(grown['history_rows']).toBeGreaterThan(empty['verdicts']!);
  }
  if (name === 'prune') {
    // A twenty-fifth of the uses (the hour past the day kept), and the stall measured.
    expect(result['uses_deleted']).toBe(Math.round((result['uses_before'] as number) / 25));
    expect(typeof result['longest_stall_ms']).toBe('number');
    expect(result['attestations_deleted']).toBeGreaterThan(0);
    expect(typeof result['attestation_longest_stall_ms']).toBe('number');
  }
}

describe('every benchmark runs at tiny size (--quick) and writes a well-formed result', () => {
  it('the runner lists the benchmarks issue 8 names', () => {
    for (const name of ['verify', 'fleet', 'revocation', 'tamper', 'enroll', 'hash']) expect(names).toContain(name);
  });

  for (const name of names) {
    const title = missing(name) ? `${name} (skipped: needs mosquitto and PostgreSQL, not installed here)` : name;
    it.skipIf(missing(name))(
      title,
      async () => {
        const outcome = await runs.get(name)!;
        expect(outcome.code, `${name} exited ${outcome.code}:\n${outcome.output}`).toBe(0);
        const record = readRecord(name);
        expect(record.benchmark).toBe(name);
        expect(record.quick).toBe(true);
        // The verifier in the runner's process has the pool vigil-server would give it (bench/src/thread-pool.ts).
        expect(record.machine.threadPoolSize).toBe(process.env['UV_THREADPOOL_SIZE'] || String(Math.max(2, availableParallelism())));
        // The simulated fleet's priority is part of every record (bench/src/fleet/niceness.ts).
        expect(record.machine.loadNice).toBe(process.env['VIGIL_BENCH_LOAD_NICE'] ? Number(process.env['VIGIL_BENCH_LOAD_NICE']) : 10);
        checkFigures(name, record.result);
      },
      300_000,
    );
  }
});
