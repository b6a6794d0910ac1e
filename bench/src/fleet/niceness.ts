/**
 * The load generators' scheduling priority.
 *
 * The simulated devices stand in for devices that have CPUs of their own;
 * on the benchmark machine they share the cores with the server they
 * measure. At the same priority the scheduler hands a core to a load
 * generator as readily as to the server's event loop, so part of what a
 * benchmark reports as the server's limit is the server preempted by its
 * own load (docs/benchmarks.md, twenty-third round). A load generator with
 * a higher nice value still gets every core the server leaves idle, and
 * whether it kept up is measured (the offered rate, skipped requests, its
 * own event loop's stalls).
 *
 * Linux keeps the nice value per thread (setpriority(2), "BUGS"): setting
 * it for the process id changes only its main thread. The threads Node
 * starts before any JavaScript runs (V8's platform workers, libuv's) are
 * therefore set one by one from /proc/self/task; threads started later
 * inherit the value of the thread that starts them.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The load generators' nice value unless VIGIL_BENCH_LOAD_NICE or `FleetOptions.nice` says otherwise. */
export const DEFAULT_LOAD_NICE = 10;

/** Nice values a process may lower itself to without privileges: integers 0..19. */
function isNice(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 19;
}

/** `nice` when it is a nice value a process may lower itself to (an integer in 0..19); throws otherwise. */
export function checkNice(nice: number): number {
  if (!isNice(nice)) throw new RangeError(`not a nice value from 0 to 19: ${nice}`);
  return nice;
}

/** The nice value for the load generators: VIGIL_BENCH_LOAD_NICE when set, else the default. */
export function loadNiceFromEnvironment(): number {
  const v = process.env['VIGIL_BENCH_LOAD_NICE'];
  if (v === undefined || v === '') return DEFAULT_LOAD_NICE;
  const n = Number(v);
  if (v.trim() === '' || !isNice(n)) throw new RangeError(`VIGIL_BENCH_LOAD_NICE must be a nice value from 0 to 19, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Sets every thread of this process to `nice` (0..19); returns the main
 * thread's nice value afterwards. Threads that ended meanwhile are skipped;
 * any other failure throws, so a run never reports a priority it lacks.
 */
export function setOwnNice(nice: number): number {
  checkNice(nice);
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    // No /proc (not Linux): the process id is all there is to set.
    tids = [process.pid];
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
    } catch (err) {
      // os.setPriority throws ERR_SYSTEM_ERROR with the errno in `info`.
      if ((err as { info?: { code?: string } }).info?.code === 'ESRCH') continue;
      throw err;
    }
  }
  return getPriority();
}
