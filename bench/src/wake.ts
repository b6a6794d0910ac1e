// Benchmark `wake`: what it costs this machine to wake an idle event loop.
// A timer wakes the loop at a set rate and each wake runs the same small job
// (a 1 KiB JSON parse and a SHA-256 of 1 KiB, the size of a message's own
// work), once or ten times in a row. Reported per wake: the main thread's CPU
// time (the scheduler's own account, /proc/self/task/<tid>/schedstat, not
// tick samples), the loop's active time (performance.eventLoopUtilization),
// and the job's wall time against the same job run back to back. On bare
// metal a wake typically costs a few µs; on a virtual machine whose idle vCPUs halt
// it can cost far more, and everything a server does below saturation pays
// it: that is why a verdict costs more CPU at half load than at saturation
// (docs/benchmarks.md, "Sixteenth round").
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { round } from './load-window.js';
import { medianRate } from './rate.js';
import { numberArg, type Benchmark } from './registry.js';

export interface WakeRow {
  readonly wakes_per_s: number;
  readonly jobs_per_wake: number;
  /** Main-thread CPU per wake, µs (schedstat; rusage where there is none). */
  readonly cpu_us_per_wake: number;
  /** The event loop's active time per wake, µs. */
  readonly active_us_per_wake: number;
  /** One job's wall time when run right after a wake (and after the jobs before it in the same wake), µs. */
  readonly job_us: number;
  /** `job_us` over the job's time back to back. */
  readonly slowdown: number;
}

/** Nanoseconds this thread has run on a CPU, from the scheduler (proc(5): schedstat); NaN without /proc. */
function threadRunNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

function rusageNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** The CPU clock this machine offers: the scheduler's for this thread, or the process's rusage. */
const cpuClock: { readonly name: 'schedstat' | 'rusage'; readonly ns: () => number } = Number.isNaN(threadRunNs())
  ? { name: 'rusage', ns: rusageNs }
  : { name: 'schedstat', ns: threadRunNs };

const DOCUMENT = JSON.stringify({ v: 1, items: Array.from({ length: 24 }, (_, i) => ({ i, name: `item-${i}`, value: 'x'.repeat(16) })) });
const BLOCK = Buffer.alloc(1024, 7);
let sink = 0;

/** The job: about what handling one message costs apart from its I/O. */
function job(): void {
  const parsed = JSON.parse(DOCUMENT) as { items: unknown[] };
  sink += parsed.items.length + createHash('sha256').update(BLOCK).digest()[0]!;
}

async function measureRow(wakesPerS: number, jobsPerWake: number, seconds: number): Promise<WakeRow> {
  const cpu0 = cpuClock.ns();
  const elu0 = performance.eventLoopUtilization();
  const start = performance.now();
  let wakes = 0;
  let jobMs = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const t = performance.now();
      for (let i = 0; i < jobsPerWake; i++) job();
      jobMs += performance.now() - t;
      wakes++;
      if (t - start >= seconds * 1000) {
        clearInterval(timer);
        done();
      }
    }, 1000 / wakesPerS);
  });
  const cpuNs = cpuClock.ns() - cpu0;
  const elu = performance.eventLoopUtilization(elu0);
  const elapsedS = (performance.now() - start) / 1000;
  const hotUs = 1e6 / medianRate(0.2, job);
  const jobUs = (jobMs * 1000) / (wakes * jobsPerWake);
  return {
    wakes_per_s: Math.round(wakes / elapsedS),
    jobs_per_wake: jobsPerWake,
    cpu_us_per_wake: round(cpuNs / 1000 / wakes),
    active_us_per_wake: round((elu.active * 1000) / wakes),
    job_us: round(jobUs, 2),
    slowdown: round(jobUs / hotUs, 1),
  };
}

export const wakeBenchmark: Benchmark = {
  description: 'what one wake-up of an idle event loop costs here: CPU and active time per wake, and how much slower a small job runs right after one',
  options: { seconds: 'length of each measurement, s (default 3)' },
  async run(options) {
    const seconds = numberArg(options, 'seconds', options.quick ? 0.3 : 3);
    const log = (s: string) => process.stdout.write(s);
    const hotUs = 1e6 / medianRate(options.quick ? 0.2 : 1, job);
    log(`  the job back to back: ${hotUs.toFixed(2)} µs\n`);
    const rows: WakeRow[] = [];
    // Node's timers have a 1 ms resolution: 1,000 wakes a second is the most a timer gives.
    for (const [wakes, jobs] of [[100, 1], [300, 1], [1000, 1], [100, 10], [1000, 10]] as const) {
      const row = await measureRow(wakes, jobs, seconds);
      rows.push(row);
      log(
        `  ${String(row.wakes_per_s).padStart(5)} wakes/s × ${String(jobs).padStart(2)} jobs: CPU ${row.cpu_us_per_wake} µs/wake, active ${row.active_us_per_wake} µs/wake,` +
          ` job ${row.job_us} µs (${row.slowdown}× back to back)\n`,
      );
    }
    return { job_back_to_back_us: round(hotUs, 2), cpu_clock: cpuClock.name, rows };
  },
};
