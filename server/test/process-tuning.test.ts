/**
 * The verifier process's tuning (server/src/process/tuning.ts): the pool
 * size rule, and that `npx vigil-server` (the bin link scripts/link-bins.mjs
 * makes after the build) runs with it, unless the operator set one.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { threadPoolSize } from '../src/process/tuning.js';

/** What `npx vigil-server` runs in a clone. */
const NPX_BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'vigil-server');

/** Runs `npx vigil-server --version` with a preloaded probe that reports the pool size the process ended with. */
function poolSizeOfStartedServer(operatorSetting: string | undefined): string {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['UV_THREADPOOL_SIZE'];
  if (operatorSetting !== undefined) env['UV_THREADPOOL_SIZE'] = operatorSetting;
  const probe = `process.on('exit', () => process.stderr.write('PROBE' + JSON.stringify(process.env.UV_THREADPOOL_SIZE ?? null)))`;
  env['NODE_OPTIONS'] = `--import=data:text/javascript,${encodeURIComponent(probe)}`;
  const run = spawnSync(NPX_BIN, ['--version'], { env, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  return JSON.parse(run.stderr.slice(run.stderr.indexOf('PROBE') + 5)) as string;
}

describe('server process tuning', () => {
  it('sizes the thread pool to the cores, between 2 and 4', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => threadPoolSize(cores))).toEqual([2, 2, 3, 4, 4, 4]);
  });

  it('npx vigil-server runs with that pool size', () => {
    expect(poolSizeOfStartedServer(undefined)).toBe(String(threadPoolSize()));
  });

  it("an operator's UV_THREADPOOL_SIZE is kept", () => {
    expect(poolSizeOfStartedServer('7')).toBe('7');
  });
});
