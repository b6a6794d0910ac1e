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
 * total time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EXPIRED_KEPT_MS, generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type BatchedWrite, type Store } from '@vigil/server';
import { round } from './load-window.js';
import { numberArg, type Benchmark, type BenchOptions } from './registry.js';

const HOUR_MS = 3_600_000;
/** Uses written per batch while filling (the verifier's batches are ~20; bigger only to fill faster). */
const FILL_BATCH = 5_000;

async function enrollDevices(store: Store, count: number): Promise<string[]> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: count, expiresAt: Date.now() + HOUR_MS, actor: 'bench' });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `prune-${i}`;
    const enrolled = await store.enrollDevice({
      tokenHash: hashEnrollmentToken(token),
      device: {
        id,
        ekPublic: randomBytes(300),
        ekName: '000b' + randomBytes(32).toString('hex'),
        akPublic: randomBytes(90),
        akName: '000b' + randomBytes(32).toString('hex'),
        facts: { hostname: id, os: 'bench', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'SIM', firmwareVersion: '0' } },
      },
      certificate: { serial: randomBytes(8).toString('hex'), notBefore: 0, notAfter: Date.now() + HOUR_MS, pem: 'PEM' },
      actor: 'bench',
    });
    if (!enrolled.ok) throw new Error(`enrolling ${id}: ${JSON.stringify(enrolled)}`);
    ids.push(id);
  }
  return ids;
}

/** An id shaped like a sealed challenge id: version, expiry (6 bytes, big-endian), flags, random, one PCR mask, two tags. */
function sealedLikeId(expiresAt: number): string {
  const raw = randomBytes(31);
  raw[0] = 1;
  raw.writeUIntBE(expiresAt, 1, 6);
  raw[7] = 0x04;
  return raw.toString('base64url');
}

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
  description: 'the hourly prune of a day of challenge uses (SQLite): rows deleted, time, and the longest the event loop stalled',
  options: {
    uses: 'challenge uses in the table before the prune (default 14,400,000: 10,000 devices every 60 s, kept 24 h, plus the hour to prune)',
    devices: 'devices the uses belong to (default 1000)',
  },
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const log = (s: string) => process.stdout.write(s);
    const uses = numberArg(options, 'uses', options.quick ? 20_000 : 14_400_000);
    const deviceCount = Math.max(1, numberArg(options, 'devices', options.quick ? 10 : 1000));
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
      return {
        uses_before: uses,
        devices: deviceCount,
        uses_deleted: result.challenges,
        prune_s: round(seconds, 3),
        longest_stall_ms: round(longestStallMs, 1),
        fill_s: round(fillSeconds),
        database_mib: round(tableMiB),
      };
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
