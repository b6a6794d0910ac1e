/**
 * Benchmark `prune`: what the hourly housekeeping costs the server's event
 * loop. A fleet of D devices attesting every I seconds records D / I
 * challenge uses a second, and the store keeps each for a day after it
 * expired (`EXPIRED_KEPT_MS`): at 10,000 devices on a 60 s schedule that is
 * 14.4 million rows, of which each hourly `pruneExpired` deletes the oldest
 * twenty-fifth. The store here is the server's (a real SQLite file, WAL,
 * background checkpoints), filled with that many uses spread over 25 hours,
 * ids shaped like sealed challenge ids (time first). Then one
 * `pruneExpired(now - EXPIRED_KEPT_MS)` runs while a 1 ms timer measures the
 * event loop: the figure is the longest the loop went without running it
 * (everything else the server does waits that long), beside the prune's
 * total time. Then the same for the attestation history
 * (`store.attestationRetentionDays`): two hours of verdicts at that rate
 * (600,000 an hour, ~800-byte verdicts like the real ones), and one
 * `pruneAttestations` that deletes the older hour, as the hourly prune
 * does once the retention is reached.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EXPIRED_KEPT_MS, openSqliteStore, type BatchedWrite } from '@vigil/server';
import { round } from './load-window.js';
import { numberArg, type Benchmark, type BenchOptions } from './registry.js';
import { SAMPLE_VERDICT, enrollDevices, sealedLikeId } from './store-fill.js';

const HOUR_MS = 3_600_000;
/** Uses written per batch while filling (the verifier's batches are ~20; bigger only to fill faster). */
const FILL_BATCH = 5_000;

/** Runs `work` while a 1 ms timer watches the event loop; returns the longest gap between its ticks. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; longestStallMs: number }> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
  }, 1);
  const t0 = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - t0) / 1000;
    longest = Math.max(longest, performance.now() - last);
    return { result, seconds, longestStallMs: longest };
  } finally {
    clearInterval(timer);
  }
}

export const pruneBenchmark: Benchmark = {
  description: 'the hourly prunes (SQLite): a day of challenge uses, and an hour of attestation history past its retention: rows deleted, time, and the longest the event loop stalled',
  options: {
    uses: 'challenge uses in the table before the prune (default 14,400,000: 10,000 devices every 60 s, kept 24 h, plus the hour to prune)',
    devices: 'devices the uses and attestations belong to (default 1000)',
    attestations: 'attestations past the retention for the second prune (default 600,000: an hour of verdicts at 10,000 devices every 60 s)',
  },
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const log = (s: string) => process.stdout.write(s);
    const uses = numberArg(options, 'uses', options.quick ? 20_000 : 14_400_000);
    const deviceCount = Math.max(1, numberArg(options, 'devices', options.quick ? 10 : 1000));
    const attestations = numberArg(options, 'attestations', options.quick ? 5_000 : 600_000);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-prune-'));
    const path = join(dir, 'vigil.db');
    const store = await openSqliteStore(path, { backgroundCheckpoints: true });
    try {
      const devices = await enrollDevices(store, deviceCount);
      // Uses spread evenly over the 25 hours before now: a day kept past expiry, and the hour the prune removes.
      const now = Date.now();
      const span = EXPIRED_KEPT_MS + HOUR_MS;
      const t0 = performance.now();
      let shown = 0;
      for (let i = 0; i < uses; i += FILL_BATCH) {
        const writes: BatchedWrite[] = [];
        for (let j = i; j < Math.min(uses, i + FILL_BATCH); j++) {
          const expiresAt = now - span + Math.floor((j * span) / uses);
          writes.push({ kind: 'use-challenge', use: { id: sealedLikeId(expiresAt), deviceId: devices[j % devices.length]!, usedAt: expiresAt - 30_000, expiresAt } });
        }
        for (const outcome of await store.applyBatch(writes)) if (outcome !== true) throw new Error(`filling: ${String(outcome)}`);
        if (performance.now() - shown > 5000) {
          shown = performance.now();
          log(`  filled ${Math.min(uses, i + FILL_BATCH).toLocaleString('en')} of ${uses.toLocaleString('en')} uses\n`);
        }
      }
      const fillSeconds = (performance.now() - t0) / 1000;
      const tableMiB = statSync(path).size / 2 ** 20;
      log(`  ${uses.toLocaleString('en')} uses over ${deviceCount} devices in ${fillSeconds.toFixed(1)} s; database ${tableMiB.toFixed(0)} MiB\n`);

      const { result, seconds, longestStallMs } = await longestStall(() => store.pruneExpired(now - EXPIRED_KEPT_MS));
      const expected = Math.round((uses * HOUR_MS) / span);
      log(
        `prune: ${result.challenges.toLocaleString('en')} uses deleted (about ${expected.toLocaleString('en')} expected) in ${seconds.toFixed(2)} s;` +
          ` longest event-loop stall ${longestStallMs.toFixed(1)} ms\n`,
      );
      if (Math.abs(result.challenges - expected) > uses / 1000 + 10) throw new Error(`pruned ${result.challenges} uses, expected about ${expected}`);

      // The attestation history: an hour of verdicts past the retention, then the hour since (kept).
      const t1 = performance.now();
      for (let i = 0; i < 2 * attestations; i += FILL_BATCH) {
        const writes: BatchedWrite[] = [];
        for (let j = i; j < Math.min(2 * attestations, i + FILL_BATCH); j++) {
          const receivedAt = now - 2 * HOUR_MS + Math.floor((j * HOUR_MS) / attestations);
          const deviceId = devices[j % devices.length]!;
          writes.push({
            kind: 'record-attestation',
            input: {
              attestation: { deviceId, challengeId: sealedLikeId(receivedAt + 30_000), receivedAt, evidenceDigest: randomBytes(32).toString('hex'), status: 'affirming', verdict: SAMPLE_VERDICT, error: null, policy: { name: 'fleet', version: 1 }, tpmClock: null },
              device: { status: 'affirming', verified: true },
              actor: 'verifier',
            },
          });
        }
        for (const outcome of await store.applyBatch(writes)) if (outcome instanceof Error) throw outcome;
      }
      const attestationFillSeconds = (performance.now() - t1) / 1000;
      log(`  ${(2 * attestations).toLocaleString('en')} attestations (half of them an hour past the retention) in ${attestationFillSeconds.toFixed(1)} s\n`);
      const history = await longestStall(() => store.pruneAttestations(now - HOUR_MS));
      log(`prune: ${history.result.toLocaleString('en')} attestations deleted in ${history.seconds.toFixed(2)} s; longest event-loop stall ${history.longestStallMs.toFixed(1)} ms\n`);
      if (history.result !== attestations) throw new Error(`pruned ${history.result} attestations, expected ${attestations}`);
      return {
        uses_before: uses,
        devices: deviceCount,
        uses_deleted: result.challenges,
        prune_s: round(seconds, 3),
        longest_stall_ms: round(longestStallMs, 1),
        fill_s: round(fillSeconds),
        database_mib: round(tableMiB),
        attestations_deleted: history.result,
        attestation_prune_s: round(history.seconds, 3),
        attestation_longest_stall_ms: round(history.longestStallMs, 1),
      };
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
