/**
 * Benchmark runner: `node bench/dist/main.js [--quick] [--option value...] [name...]`
 * runs the named benchmarks (all when none are named) and writes each result,
 * with the machine's facts, to bench/results/<name>.json. Options are those
 * the selected benchmarks declare (e.g. `fleet --devices 2000 --minutes 2`).
 * VIGIL_BENCH_RESULTS names another directory for the results (the smoke
 * test writes to a temp dir, never over recorded figures).
 * VIGIL_BENCH_LOAD_NICE sets the nice value of the simulated fleet's
 * load-generator processes (default 10: they yield the cores to the server
 * they measure; 0 runs them at its priority; see bench/src/fleet/niceness.ts).
 */
import { runWithSizedThreadPool } from './thread-pool.js';

// In a process started without UV_THREADPOOL_SIZE this runs the benchmarks in a child that has it, and exits as that child does.
await runWithSizedThreadPool();
await import('./runner.js');
