/**
 * How the verifier's process is tuned, measured on the verify benchmark
 * (docs/benchmarks.md, "Fourth round"). Both settings must be in place
 * before the process does its first piece of work, so they are applied
 * by importing this module first (`vigil-server`'s entry point, the
 * benchmark runner) and by the command line that starts node.
 */
import { availableParallelism } from 'node:os';

/**
 * node flags the server runs with (the first line of `vigil-server`, the
 * benchmark runner, the replicas the benchmarks start). V8 reads them only
 * when the process starts. A verdict allocates ~30 KiB of short-lived
 * objects (messages, logs, rows); with V8's default 16 MiB semi-spaces the
 * young generation is scavenged about 30 times a second at 2,000 verdicts/s
 * and objects still in flight are copied out each time. 32 MiB halves
 * that; the young generation may then hold up to 64 MiB more.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/**
 * libuv's thread pool for this process: as many threads as cores, at least
 * 2 and at most libuv's default 4. The pool does the verifier's signature
 * checks (node:crypto's callback form); on a small machine 4 threads
 * would each be runnable beside the event loop and preempt it (measured
 * on 2 cores: ~14 % more verdicts a second with 2 than with 4). At least
 * 2, so a slow DNS lookup (webhooks) or file operation does not hold up
 * every signature check behind it. An operator's UV_THREADPOOL_SIZE wins.
 */
export function threadPoolSize(cores: number = availableParallelism()): number {
  return Math.min(4, Math.max(2, cores));
}

// libuv reads the variable when the pool first starts, i.e. at the process's first
// pool task (a file read, a DNS lookup, a signature check), which comes after this.
process.env['UV_THREADPOOL_SIZE'] ??= String(threadPoolSize());
