/**
 * The verify and fleet benchmarks run the verifier in this process, so its
 * libuv thread pool must be the size `vigil-server` gives it
 * (`@vigil/server/threadpool`), or the figures would not be the product's.
 * libuv reads the size once, when the pool starts, and this runner, an ES
 * module, was itself read through the pool: too late to set it here. So a
 * runner started without UV_THREADPOOL_SIZE runs itself again, as a child
 * with the same node options and arguments and the size set, and exits as
 * the child did. Imported first by main.ts, before anything else runs.
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import threadpool from '@vigil/server/threadpool';

if (!process.env['UV_THREADPOOL_SIZE']) {
  const env = { ...process.env };
  threadpool.sizeThreadPool(env);
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  if (child.error !== undefined) {
    process.stderr.write(`bench: could not start the runner with a sized thread pool: ${child.error.message}\n`);
    process.exit(1);
  }
  // A child ended by a signal exits as a shell reports it: 128 + the signal's number.
  process.exit(child.status ?? 128 + (child.signal === null ? 0 : constants.signals[child.signal]));
}
