/**
 * The size `vigil-server` gives libuv's thread pool (src/threadpool.cts),
 * and that the launcher sets it, then runs the CLI. (That it does so before
 * any ES module loads follows from its being CommonJS and the process's
 * main module: libuv's own pool size cannot be read back from outside.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The compiled CommonJS module, as the launcher and the benchmarks load it (npm test builds first).
const { sizeThreadPool } = createRequire(import.meta.url)('../dist/threadpool.cjs') as {
  sizeThreadPool: (env?: NodeJS.ProcessEnv, cores?: number) => string;
};

describe('sizeThreadPool', () => {
  it('gives one thread per core, and never fewer than two', () => {
    for (const [cores, size] of [
      [1, '2'],
      [2, '2'],
      [3, '3'],
      [16, '16'],
    ] as const) {
      const env: NodeJS.ProcessEnv = {};
      expect(sizeThreadPool(env, cores)).toBe(size);
      expect(env['UV_THREADPOOL_SIZE']).toBe(size);
    }
  });

  it("keeps the operator's size, whatever the machine", () => {
    const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '7' };
    expect(sizeThreadPool(env, 2)).toBe('7');
    expect(env['UV_THREADPOOL_SIZE']).toBe('7');
  });

  it('treats an empty value as unset (libuv would read it as one thread)', () => {
    const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '' };
    expect(sizeThreadPool(env, 4)).toBe('4');
  });
});

describe('the vigil-server launcher', () => {
  const launcher = new URL('../dist/cli/vigil-server.cjs', import.meta.url).pathname;

  it('sets the size in its environment, then runs the CLI', () => {
    const env = { ...process.env };
    delete env['UV_THREADPOOL_SIZE'];
    // Loaded by --require before the launcher runs: reports, at exit, the size the environment then holds.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-threadpool-'));
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write('pool=' + process.env.UV_THREADPOOL_SIZE + '\\n'));\n");
    try {
      const cli = spawnSync(process.execPath, ['--require', probe, launcher, '--version'], { encoding: 'utf8', env });
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      expect(cli.stderr).toContain(`pool=${Math.max(2, availableParallelism())}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
