/**
 * The verifier process's tuning (server/src/process/tuning.ts): the pool
 * size rule, that `vigil-server` starts node with exactly the flags the
 * benchmarks measure it with, and that a started CLI has both in effect.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS, threadPoolSize } from '../src/process/tuning.js';

const SOURCE_ENTRY = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const BUILT_ENTRY = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
/** What `npx vigil-server` runs in a clone (linked by scripts/link-bins.mjs after the build). */
const NPX_BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'vigil-server');

describe('server process tuning', () => {
  it('sizes the thread pool to the cores, between 2 and 4', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => threadPoolSize(cores))).toEqual([2, 2, 3, 4, 4, 4]);
  });

  it('the vigil-server entry point starts node with SERVER_NODE_FLAGS, in source and build', () => {
    for (const file of [SOURCE_ENTRY, BUILT_ENTRY]) {
      const first = readFileSync(file, 'utf8').split('\n', 1)[0]!;
      expect(first).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
    }
  });

  it('a vigil-server started through its first line runs with the flags and its pool size', () => {
    // `npx vigil-server`: the bin link, run as an executable (--version ends it at once);
    // a preloaded probe reports the process's flags and pool size as it exits.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['UV_THREADPOOL_SIZE'];
    const probe = `process.on('exit', () => process.stderr.write('PROBE' + JSON.stringify({ flags: process.execArgv, pool: process.env.UV_THREADPOOL_SIZE })))`;
    env['NODE_OPTIONS'] = `--import=data:text/javascript,${encodeURIComponent(probe)}`;
    const run = spawnSync(NPX_BIN, ['--version'], { env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const seen = JSON.parse(run.stderr.slice(run.stderr.indexOf('PROBE') + 5)) as { flags: string[]; pool: string };
    expect(seen.flags).toEqual([...SERVER_NODE_FLAGS]);
    expect(seen.pool).toBe(String(threadPoolSize()));
  });
});
