/**
 * One measurement window of a load benchmark: what the simulated fleet saw
 * (verdicts, latencies) and what the server and the load generators spent
 * (CPU, memory) between two snapshots.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { percentile, type Fleet, type FleetSnapshot } from './fleet/index.js';
import type { LoadServer } from './server-rig.js';

export interface WindowResult {
  readonly seconds: number;
  readonly verdicts: number;
  readonly verdictsPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Share of one core: 1.0 = one core busy for the whole window. */
  readonly serverCpuCores: number;
  readonly loadCpuCores: number;
  /** CPU time per verdict, µs: the figure other load on the machine moves least. */
  readonly serverCpuUsPerVerdict: number;
  /** The server's event loop alone (its main thread): the part that cannot use a second core. */
  readonly serverLoopUsPerVerdict: number;
  readonly loadCpuUsPerVerdict: number;
  readonly serverRssMiB: number;
  readonly loadRssMiB: number;
  readonly requestsSkipped: number;
  /**
   * The longest the server's event loop (this process's) and any load generator's were held
   * in the window, ms (10 ms resolution): which side a latency spike came from.
   */
  readonly serverLoopStallMaxMs: number;
  readonly loadLoopStallMaxMs: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

export const round = (x: number, digits = 1): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a window now; `end()` closes it. Latencies are those of results arriving inside it. */
export async function openWindow(fleet: Fleet, server: LoadServer): Promise<{ end(): Promise<WindowResult> }> {
  const before = await fleet.snapshot(); // also clears the latencies gathered so far
  const t0 = performance.now();
  const s0 = server.usage();
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  return {
    async end() {
      const after = await fleet.snapshot();
      const seconds = (performance.now() - t0) / 1000;
      const s1 = server.usage();
      stalls.disable();
      return summarize(before, after, seconds, s1.cpuMs - s0.cpuMs, s1.mainThreadCpuMs - s0.mainThreadCpuMs, s1.rssBytes, stalls.max / 1e6);
    },
  };
}

function summarize(
  before: FleetSnapshot,
  after: FleetSnapshot,
  seconds: number,
  serverCpuMs: number,
  serverLoopMs: number,
  serverRss: number,
  serverStallMs: number,
): WindowResult {
  const verdicts = after.answered - before.answered;
  const outcomes: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.outcomes)) {
    const d = v - (before.outcomes[k] ?? 0);
    if (d > 0) outcomes[k] = d;
  }
  const l = after.latencies;
  return {
    seconds: round(seconds, 2),
    verdicts,
    verdictsPerSecond: round(verdicts / seconds),
    p50Ms: round(percentile(l, 50), 2),
    p90Ms: round(percentile(l, 90), 2),
    p99Ms: round(percentile(l, 99), 2),
    maxMs: round(l.length > 0 ? l[l.length - 1]! : Number.NaN, 2),
    serverCpuCores: round(serverCpuMs / 1000 / seconds, 2),
    loadCpuCores: round((after.loadCpuMs - before.loadCpuMs) / 1000 / seconds, 2),
    serverCpuUsPerVerdict: Math.round((serverCpuMs * 1000) / Math.max(1, verdicts)),
    serverLoopUsPerVerdict: Math.round((serverLoopMs * 1000) / Math.max(1, verdicts)),
    loadCpuUsPerVerdict: Math.round(((after.loadCpuMs - before.loadCpuMs) * 1000) / Math.max(1, verdicts)),
    serverRssMiB: round(serverRss / 2 ** 20),
    loadRssMiB: round(after.loadRssBytes / 2 ** 20),
    requestsSkipped: after.requestsSkipped - before.requestsSkipped,
    serverLoopStallMaxMs: round(serverStallMs),
    loadLoopStallMaxMs: round(after.loadLoopStallMaxMs),
    outcomes,
  };
}

/** Measures `seconds` of whatever load is running. */
export async function measure(fleet: Fleet, server: LoadServer, seconds: number): Promise<WindowResult> {
  const w = await openWindow(fleet, server);
  await delay(seconds * 1000);
  return w.end();
}

/** Waits until the fleet has no evidence without a result (or `timeoutMs`); returns what is still unanswered. */
export async function drain(fleet: Fleet, timeoutMs: number): Promise<number> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const s = await fleet.snapshot();
    if (s.unanswered === 0 || performance.now() > end) return s.unanswered;
    await delay(250);
  }
}

export function formatWindow(label: string, w: WindowResult): string {
  return (
    `${label.padEnd(28)} ${String(Math.round(w.verdictsPerSecond)).padStart(6)} verdicts/s` +
    `  p50 ${w.p50Ms} ms  p99 ${w.p99Ms} ms  max ${w.maxMs} ms` +
    `  server ${w.serverCpuCores} cores (${w.serverCpuUsPerVerdict} µs/verdict, event loop ${w.serverLoopUsPerVerdict})  load gen ${w.loadCpuCores} cores (${w.loadCpuUsPerVerdict} µs/verdict)` +
    `  longest stall: server ${w.serverLoopStallMaxMs} ms, load gen ${w.loadLoopStallMaxMs} ms` +
    (w.requestsSkipped > 0 ? `  (${w.requestsSkipped} requests skipped: device still waiting)` : '') +
    '\n'
  );
}
