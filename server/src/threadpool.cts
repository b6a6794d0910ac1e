import os = require('node:os');

/**
 * The size of libuv's thread pool for a verifier process, set before the
 * pool exists. The pool runs the AK signature checks (`verifyTpmSignatureAsync`),
 * boot-log inflation and file writes; libuv starts it at its first job and
 * reads `UV_THREADPOOL_SIZE` then, once, with 4 threads by default. An ES
 * module entry point is itself read through the pool, so only CommonJS code
 * that runs before the first ES module loads can still size it: the
 * `vigil-server` launcher and the benchmarks' entry point call this.
 *
 * The size is the machine's cores, and at least 2: a lookup for a webhook
 * holds one thread at most (webhook/serial-lookup.ts), so a signature check
 * always has one. Measured on 2 cores (docs/benchmarks.md, thirteenth round):
 * at saturation 2 threads carried ~10 % more verdicts a second than libuv's
 * 4, which leave more signature checks runnable than there are cores; below
 * saturation the pool idles and its size made no measurable difference. A
 * size the operator set is kept as it is.
 *
 * Returns the size in effect, as the environment now gives it.
 */
function sizeThreadPool(env: NodeJS.ProcessEnv = process.env, cores: number = os.availableParallelism()): string {
  // Unset or empty (libuv would read an empty value as 0, i.e. 1 thread): the default here.
  if (!env['UV_THREADPOOL_SIZE']) env['UV_THREADPOOL_SIZE'] = String(Math.max(2, Math.trunc(cores)));
  return env['UV_THREADPOOL_SIZE'];
}

export = { sizeThreadPool };
