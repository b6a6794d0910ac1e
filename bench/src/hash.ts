/**
 * Benchmark `hash`: model hashing against openssl and coreutils on the same
 * files in the same run. One 1 GiB file and a folder of 8 files of 128 MiB
 * are written to a temp dir (removed afterwards), read once so every
 * contender hashes from the page cache, then the contenders run in turn,
 * five rounds, and each one's median is kept. Targets (docs/benchmarks.md): one file at
 * least as fast as `openssl dgst -sha256`; the folder on the worker pool at
 * least 1.4x faster than on one worker, on two cores.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashModel } from '@vigil/evidence';
import type { Benchmark, BenchOptions } from './registry.js';

const MiB = 1024 * 1024;

interface Timing {
  readonly name: string;
  readonly seconds: number;
  readonly mibPerSecond: number;
  readonly runs: readonly number[];
}

/** Writes `size` bytes of random-looking data (a random block, varied per block). */
function writeFile(path: string, size: number, block: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    for (let done = 0, n = 0; done < size; n++) {
      block.writeUInt32LE(n, 0);
      const len = Math.min(block.length, size - done);
      writeSync(fd, block, 0, len);
      done += len;
    }
  } finally {
    closeSync(fd);
  }
}

function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 16 * MiB });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

interface Contender {
  readonly name: string;
  readonly bytes: number;
  readonly fn: () => Promise<unknown> | unknown;
}

/**
 * Runs every contender `rounds` times, interleaved round by round so that
 * load from other work on the machine falls on all of them alike, and keeps
 * the median of each.
 */
async function race(title: string, contenders: readonly Contender[], rounds: number): Promise<Timing[]> {
  const runs = contenders.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of contenders.entries()) {
      const t0 = process.hrtime.bigint();
      await c.fn();
      runs[i]!.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  process.stdout.write(`${title} (median of ${rounds}, interleaved):\n`);
  return contenders.map((c, i) => {
    const sorted = [...runs[i]!].sort((a, b) => a - b);
    const seconds = sorted[Math.floor(sorted.length / 2)]!;
    const t = { name: c.name, seconds, mibPerSecond: c.bytes / MiB / seconds, runs: runs[i]! };
    process.stdout.write(`  ${c.name.padEnd(44)} ${seconds.toFixed(3).padStart(8)} s  ${t.mibPerSecond.toFixed(0).padStart(6)} MiB/s\n`);
    return t;
  });
}

async function runHash(options: BenchOptions): Promise<Record<string, unknown>> {
  const single = options.quick ? 8 * MiB : 1024 * MiB;
  const shardSize = options.quick ? 2 * MiB : 128 * MiB;
  const shards = options.quick ? 4 : 8;
  const rounds = options.quick ? 1 : 5;
  const cores = availableParallelism();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-hash-'));
  try {
    const block = randomFillSync(Buffer.allocUnsafe(64 * MiB));
    const file = join(dir, 'single.bin');
    writeFile(file, single, block);
    // The same file seen as a one-file folder: hashModel puts it on a worker thread.
    mkdirSync(join(dir, 'as-folder'));
    linkSync(file, join(dir, 'as-folder', 'single.bin'));
    const folder = join(dir, 'shards');
    mkdirSync(folder);
    const shardPaths: string[] = [];
    for (let i = 0; i < shards; i++) {
      const p = join(folder, `shard-${String(i).padStart(5, '0')}.bin`);
      writeFile(p, shardSize, block);
      shardPaths.push(p);
    }
    const folderBytes = shards * shardSize;

    // Warm the page cache once per file and check every contender agrees.
    const ours = await hashModel(file);
    const theirs = run('openssl', ['dgst', '-sha256', file]).trim().split('= ')[1];
    const coreutils = run('sha256sum', [file]).split(' ')[0];
    if (ours.files[0]!.digest !== theirs || theirs !== coreutils) throw new Error('digests disagree on the single file');
    const folderDigest = await hashModel(folder);
    const shardSums = run('sha256sum', shardPaths).trim().split('\n').map((l) => l.split(' ')[0]);
    if (folderDigest.files.map((f) => f.digest).join() !== shardSums.join()) throw new Error('digests disagree on the folder');

    const [singleMain, singleWorker, singleOpenssl, ...singleRest] = await race(
      `single file, ${single / MiB} MiB`,
      [
        { name: 'vigil, calling thread (8 MiB reads)', bytes: single, fn: () => hashModel(file) },
        { name: 'vigil, one worker thread (8 MiB reads)', bytes: single, fn: () => hashModel(join(dir, 'as-folder'), { concurrency: 1 }) },
        { name: 'openssl dgst -sha256', bytes: single, fn: () => run('openssl', ['dgst', '-sha256', file]) },
        { name: 'sha256sum', bytes: single, fn: () => run('sha256sum', [file]) },
        ...(options.quick
          ? []
          : [1, 4, 16].map((n) => ({ name: `vigil, calling thread (${n} MiB reads)`, bytes: single, fn: () => hashModel(file, { readSize: n * MiB }) }))),
      ],
      rounds,
    );
    const [singleSha256sum, ...sweep] = singleRest;

    const [pool, pool1, folderOpenssl, folderOpensslParallel, folderSha256sum] = await race(
      `folder, ${shards} x ${shardSize / MiB} MiB, ${cores} cores`,
      [
        { name: `vigil, worker pool (${Math.min(cores, shards)} workers)`, bytes: folderBytes, fn: () => hashModel(folder) },
        { name: 'vigil, worker pool of 1', bytes: folderBytes, fn: () => hashModel(folder, { concurrency: 1 }) },
        { name: 'openssl dgst -sha256, one process', bytes: folderBytes, fn: () => run('openssl', ['dgst', '-sha256', ...shardPaths]) },
        {
          name: `openssl dgst -sha256, ${cores} processes (xargs -P)`,
          bytes: folderBytes,
          fn: () => run('sh', ['-c', `printf '%s\\0' "$@" | xargs -0 -n 1 -P ${cores} openssl dgst -sha256`, 'sh', ...shardPaths]),
        },
        { name: 'sha256sum, one process', bytes: folderBytes, fn: () => run('sha256sum', shardPaths) },
      ],
      rounds,
    );
    if (!singleMain || !singleWorker || !singleOpenssl || !singleSha256sum || !pool || !pool1 || !folderOpenssl || !folderOpensslParallel || !folderSha256sum) {
      throw new Error('a contender is missing');
    }

    const ratios = {
      /** > 1: vigil is faster. Target >= 1. */
      singleVsOpenssl: singleOpenssl.seconds / singleMain.seconds,
      singleVsSha256sum: singleSha256sum.seconds / singleMain.seconds,
      /** > 1: the calling thread beats a worker for one file. */
      singleMainVsWorker: singleWorker.seconds / singleMain.seconds,
      /** Target >= 1.4 on two cores. */
      folderPoolVsOneWorker: pool1.seconds / pool.seconds,
      folderPoolVsOpensslOneProcess: folderOpenssl.seconds / pool.seconds,
      folderPoolVsOpensslParallel: folderOpensslParallel.seconds / pool.seconds,
      folderPoolVsSha256sum: folderSha256sum.seconds / pool.seconds,
    };
    process.stdout.write('ratios (time of the other / time of vigil; above 1 means vigil is faster):\n');
    for (const [k, v] of Object.entries(ratios)) process.stdout.write(`  ${k.padEnd(32)} ${v.toFixed(2)}\n`);
    process.stdout.write(
      `targets: single file vs openssl >= 1.00: ${ratios.singleVsOpenssl >= 1 ? 'met' : 'MISSED'}; ` +
        `folder pool vs one worker >= 1.40: ${ratios.folderPoolVsOneWorker >= 1.4 ? 'met' : 'MISSED'}\n`,
    );
    return {
      sizes: { singleBytes: single, shards, shardBytes: shardSize },
      rounds,
      cores,
      single: { main: singleMain, readSizeSweep: sweep, worker: singleWorker, openssl: singleOpenssl, sha256sum: singleSha256sum },
      folder: { pool, pool1, openssl: folderOpenssl, opensslParallel: folderOpensslParallel, sha256sum: folderSha256sum },
      ratios,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hashBenchmark: Benchmark = {
  description: 'model hashing (one 1 GiB file, a folder of 8 x 128 MiB) vs openssl dgst -sha256 and sha256sum',
  run: runHash,
};
