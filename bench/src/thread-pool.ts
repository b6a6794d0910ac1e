/**
 * The verify and fleet benchmarks run the verifier in the runner's own
 * process, so its libuv thread pool must be the size `vigil-server` gives
 * it (`@vigil/server/threadpool`), or the figures would not be the
 * product's. libuv reads the size once, when the pool starts, and the
 * runner, an ES module, was itself read through the pool: too late to set
 * it from here. So a runner started without UV_THREADPOOL_SIZE runs again
 * as a child, with the same node options and arguments and the size set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import threadpool from '@vigil/server/threadpool';

/** Signals passed on to the child: a supervisor may send them to this process alone (a terminal's Ctrl-C reaches both). */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Returns at once when this process started with the pool's size set.
 * Otherwise runs the runner again in a child that has it, and ends this
 * process as the child ended (its exit code, or 128 + its signal's number)
 * without returning.
 */
export async function runWithSizedThreadPool(): Promise<void> {
  if (process.env['UV_THREADPOOL_SIZE']) return;
  const env = { ...process.env };
  threadpool.sizeThreadPool(env);
  // Handlers first: a signal that comes while the child starts is caught, and passed on once the loop runs again (by then the child exists).
  let child: ChildProcess | undefined;
  for (const signal of FORWARDED) process.on(signal, () => child?.kill(signal));
  const started = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  child = started;
  const code = await new Promise<number>((resolve) => {
    started.once('error', (err) => {
      process.stderr.write(`bench: could not start the runner with a sized thread pool: ${err.message}\n`);
      resolve(1);
    });
    started.once('exit', (status, signal) => resolve(status ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
  process.exit(code);
}
