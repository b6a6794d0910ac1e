/**
 * Entry point of `npm run bench` (`node bench/dist/main.js …`). The
 * benchmarks run the server in this process, so the process must be tuned
 * as `vigil-server` is (`@vigil/server/process-tuning`): the thread pool's
 * size is set on import, and the node flags are the command line's, so
 * without them the runner starts again with them (one child; signals are
 * passed on and its exit code is this one's).
 */
import { SERVER_NODE_FLAGS } from '@vigil/server/process-tuning';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const missing = SERVER_NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));
if (missing.length === 0) {
  await import('./runner.js');
} else {
  const child = spawn(process.execPath, [...process.execArgv, ...missing, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal !== null ? 128 + constants.signals[signal] : 1);
  });
}

