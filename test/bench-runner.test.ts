/**
 * The benchmark runner re-runs itself when started without
 * UV_THREADPOOL_SIZE, so that the verifier in its process gets the pool
 * vigil-server gives it (bench/src/thread-pool.ts). The child's exit code
 * is the runner's, and a signal sent to the runner alone (a supervisor's,
 * or the smoke test's timeout) ends the child too: no benchmark is left
 * running behind a runner that has gone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { childrenOf } from '../bench/src/proc-children.js';
import { makeTempDir } from './harness/pki.js';

const BENCH = join(import.meta.dirname, '..', 'bench', 'dist', 'main.js');

function envWithoutPoolSize(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['UV_THREADPOOL_SIZE'];
  return env;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // gone already
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the benchmark runner, started without a pool size', () => {
  it("exits with its child's code and message", () => {
    const run = spawnSync(process.execPath, [BENCH, 'no-such-benchmark'], { encoding: 'utf8', env: envWithoutPoolSize() });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('bench: unknown benchmark no-such-benchmark');
  });

  it('prints its usage for --help, with the environment it reads, and exits 0', () => {
    const run = spawnSync(process.execPath, [BENCH, '--help'], { encoding: 'utf8', env: envWithoutPoolSize() });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^usage: node bench\/dist\/main\.js/);
    for (const name of ['verify', 'fleet', 'revocation', 'tamper', 'enroll', 'hash']) expect(run.stdout).toContain(`\n  ${name}: `);
    expect(run.stdout).toContain('VIGIL_BENCH_LOAD_NICE');
  });

  it.each(['20', '-1', '2.5', 'low', ' '])('refuses VIGIL_BENCH_LOAD_NICE=%j before any benchmark starts', (value) => {
    const run = spawnSync(process.execPath, [BENCH, '--quick', 'verify'], { encoding: 'utf8', env: envWithoutPoolSize({ VIGIL_BENCH_LOAD_NICE: value }) });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`bench: VIGIL_BENCH_LOAD_NICE must be a nice value from 0 to 19, got ${JSON.stringify(value)}`);
    expect(run.stdout).not.toContain('== verify');
  });

  it('passes a SIGTERM sent to it alone on to the benchmark, and ends when the benchmark has', async () => {
    const dir = await makeTempDir('vigil-bench-runner-');
    try {
      const runner = spawn(process.execPath, [BENCH, '--quick', 'verify'], { stdio: 'ignore', env: envWithoutPoolSize({ VIGIL_BENCH_RESULTS: dir.path }) });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => runner.once('exit', (code, signal) => resolve({ code, signal })));
      // The re-run: a child of the runner with the same arguments (bounded wait, not a timing assertion).
      let benchmark: number | undefined;
      for (let i = 0; i < 400 && benchmark === undefined; i++) {
        benchmark = childrenOf(runner.pid!).find((pid) => commandLine(pid).includes('bench/dist/main.js'));
        if (benchmark === undefined) await sleep(25);
      }
      expect(benchmark, 'the runner started its child').toBeDefined();
      runner.kill('SIGTERM');
      const { code, signal } = await exited;
      // The runner was not killed by the signal: it forwarded it, waited for the child, and exited as the child did.
      expect(signal).toBeNull();
      expect(code).not.toBe(0);
      expect(alive(benchmark!)).toBe(false);
    } finally {
      await dir.cleanup();
    }
  }, 60_000);
});
