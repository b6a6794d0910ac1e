/**
 * Benchmark `store`: what storing a verdict costs as the attestation history
 * grows. A verdict's writes are the verifier's: one `record-answer` per
 * verdict (the challenge's use, the attestation with its ~800-byte EAR, the
 * device row's update), in batches like the verifier's group commits, over a
 * fleet's devices in a shuffled order, on the server's own store (a real
 * SQLite file, WAL, background checkpoints). Measured twice: with an empty
 * history, and after the history has grown to `--history` rows (by default
 * 1,000,000: a hundred verdicts a device, ~100 minutes of a 10,000-device
 * fleet on a 60 s schedule). Each window gives the event loop's time per
 * verdict (the batches run on it), the process's CPU per verdict (the
 * checkpoint thread included) and the bytes written to disk per verdict.
 * A write whose cost grows with the history (an index leaf per device, say)
 * shows as the grown window's figures rising above the empty one's.
 */
import { readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore, type BatchedWrite, type Store } from '@vigil/server';
import { round } from './load-window.js';
import { numberArg, type Benchmark, type BenchOptions } from './registry.js';
import { SAMPLE_VERDICT, enrollDevices, sealedLikeId } from './store-fill.js';

/** Rows written per batch while filling the history (bigger than the verifier's batches, only to fill faster). */
const FILL_BATCH = 5_000;

/** Bytes this process has caused to be written to storage (proc(5), /proc/self/io `write_bytes`), or NaN. */
function bytesWritten(): number {
  try {
    const line = readFileSync('/proc/self/io', 'utf8').split('\n').find((l) => l.startsWith('write_bytes:'));
    return line === undefined ? Number.NaN : Number(line.slice('write_bytes:'.length));
  } catch {
    return Number.NaN;
  }
}

/** Throws unless every write of a batch was stored (none refused, no use found recorded already). */
function expectStored(outcomes: readonly unknown[], what: string): void {
  for (const o of outcomes) if (o instanceof Error || o === 'used') throw new Error(`${what}: a verdict was not stored: ${String(o)}`);
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One verdict's writes, as the verifier batches them (`record-answer`). */
function answer(deviceId: string, receivedAt: number): BatchedWrite {
  const expiresAt = receivedAt + 30_000;
  return {
    kind: 'record-answer',
    use: { id: sealedLikeId(expiresAt), deviceId, usedAt: receivedAt, expiresAt },
    input: {
      attestation: {
        deviceId,
        challengeId: null,
        receivedAt,
        evidenceDigest: 'ab'.repeat(32),
        status: 'affirming',
        verdict: SAMPLE_VERDICT,
        error: null,
        policy: { name: 'fleet', version: 1 },
        tpmClock: { clock: BigInt(receivedAt), resetCount: 1, restartCount: 0 },
      },
      device: { status: 'affirming', verified: true, tpmClock: { clock: BigInt(receivedAt), resetCount: 1, restartCount: 0 } },
      actor: 'verifier',
    },
  };
}

export interface StoreWindow {
  readonly history_rows: number;
  readonly verdicts: number;
  /** Time the batches held the event loop, µs per verdict. */
  readonly loop_us_per_verdict: number;
  /** The process's CPU (the event loop, the checkpoint thread, everything), µs per verdict. */
  readonly cpu_us_per_verdict: number;
  readonly disk_kib_per_verdict: number;
}

/** `verdicts` verdicts in batches of `batch`, each batch over devices in a fresh shuffled order. */
async function measure(store: Store, devices: readonly string[], verdicts: number, batch: number, historyRows: number): Promise<StoreWindow> {
  let order = shuffled(devices);
  let next = 0;
  let loopMs = 0;
  const cpu0 = process.cpuUsage();
  const disk0 = bytesWritten();
  for (let done = 0; done < verdicts; done += batch) {
    const writes: BatchedWrite[] = [];
    const now = Date.now();
    for (let i = 0; i < Math.min(batch, verdicts - done); i++) {
      if (next === order.length) [order, next] = [shuffled(devices), 0];
      writes.push(answer(order[next++]!, now));
    }
    const t0 = performance.now();
    const outcomes = await store.applyBatch(writes);
    loopMs += performance.now() - t0;
    expectStored(outcomes, 'measuring');
    // A turn of the event loop between batches, as between the verifier's group commits.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    history_rows: historyRows,
    verdicts,
    loop_us_per_verdict: round((loopMs * 1000) / verdicts, 1),
    cpu_us_per_verdict: round((cpu.user + cpu.system) / verdicts, 1),
    disk_kib_per_verdict: round((bytesWritten() - disk0) / 1024 / verdicts, 2),
  };
}

export const storeWritesBenchmark: Benchmark = {
  description: 'what storing a verdict costs (SQLite, the verifier\'s batched writes) with an empty attestation history and a grown one: event-loop and CPU µs, disk KiB per verdict',
  options: {
    devices: 'devices the verdicts are spread over (default 10,000)',
    history: 'attestations in the history before the second window (default 1,000,000)',
    verdicts: 'verdicts written in each measured window (default 60,000)',
    batch: 'verdicts per batch, as the verifier groups them in one commit (default 40)',
  },
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const log = (s: string) => process.stdout.write(s);
    const deviceCount = Math.max(1, numberArg(options, 'devices', options.quick ? 50 : 10_000));
    const history = numberArg(options, 'history', options.quick ? 5_000 : 1_000_000);
    const verdicts = Math.max(1, numberArg(options, 'verdicts', options.quick ? 1_000 : 60_000));
    const batch = Math.max(1, numberArg(options, 'batch', 40));
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-store-'));
    const path = join(dir, 'vigil.db');
    const store = await openSqliteStore(path, { backgroundCheckpoints: true });
    try {
      const devices = await enrollDevices(store, deviceCount);
      log(`  ${deviceCount.toLocaleString('en')} devices enrolled\n`);
      const show = (label: string, w: StoreWindow) =>
        log(
          `${label.padEnd(34)} ${w.loop_us_per_verdict} µs/verdict on the event loop, ${w.cpu_us_per_verdict} µs CPU,` +
            ` ${w.disk_kib_per_verdict} KiB written (${w.verdicts.toLocaleString('en')} verdicts, batches of ${batch})\n`,
        );
      const empty = await measure(store, devices, verdicts, batch, 0);
      show('empty history', empty);

      const t0 = performance.now();
      let shown = performance.now();
      let filled = verdicts; // the empty window's verdicts are the history's first rows
      while (filled < history) {
        const n = Math.min(FILL_BATCH, history - filled);
        const writes: BatchedWrite[] = [];
        const now = Date.now();
        for (let i = 0; i < n; i++) writes.push(answer(devices[(filled + i) % devices.length]!, now));
        expectStored(await store.applyBatch(writes), 'filling');
        filled += n;
        if (performance.now() - shown > 5000) {
          shown = performance.now();
          log(`  history ${filled.toLocaleString('en')} of ${history.toLocaleString('en')} attestations\n`);
        }
      }
      const fillSeconds = (performance.now() - t0) / 1000;
      log(`  history of ${filled.toLocaleString('en')} attestations in ${fillSeconds.toFixed(1)} s; database ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB\n`);
      const grown = await measure(store, devices, verdicts, batch, filled);
      show(`history of ${grown.history_rows.toLocaleString('en')}`, grown);
      return { devices: deviceCount, batch, empty, grown, fill_s: round(fillSeconds), database_mib: round(statSync(path).size / 2 ** 20) };
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
