/**
 * How the verifier's process is tuned, as measured on the verify benchmark
 * (docs/benchmarks.md, "Fourth round"). Imported first by `vigil-server`'s
 * entry point and by the benchmark runner (which runs the server in its own
 * process): libuv reads the pool's size once, when the process's first
 * pool task (a file read, a DNS lookup, a signature check) starts it.
 */
import { availableParallelism } from 'node:os';

/**
 * libuv's thread pool for this process: as many threads as cores, at least
 * 2 and at most libuv's default 4. The pool does the verifier's signature
 * checks (node:crypto's callback form); on a machine with fewer cores than
 * 4, every pool thread with a check to do is runnable beside the event loop
 * and preempts it (2 cores, the load generator beside the server: ~14 %
 * more verdicts a second with 2 threads than with 4). At least 2, so that a
 * slow DNS lookup (a webhook) or file operation does not hold every
 * signature check up behind it. An operator's UV_THREADPOOL_SIZE wins.
 */
export function threadPoolSize(cores: number = availableParallelism()): number {
  return Math.min(4, Math.max(2, cores));
}

process.env['UV_THREADPOOL_SIZE'] ??= String(threadPoolSize());
