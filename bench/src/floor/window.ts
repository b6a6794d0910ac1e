/**
 * One measurement window of a floor variant: what the devices saw (results,
 * latencies) and what each process spent, between two snapshots of both
 * children.
 */
import { percentile } from '../fleet/fleet.js';
import { round } from '../load-window.js';
import type { DeviceStats, ServerStats } from './messages.js';

export interface FloorSnapshot {
  readonly server: ServerStats;
  readonly devices: DeviceStats;
}

export interface FloorWindow {
  readonly seconds: number;
  readonly verdicts: number;
  readonly verdicts_per_s: number;
  /** Evidence written → result read (what the verify benchmark calls latency). */
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** Request written → result read: the whole round. */
  readonly round_p50_ms: number;
  readonly round_p99_ms: number;
  /** Share of one core: 1.0 = one core busy for the whole window. */
  readonly server_cpu_cores: number;
  /** CPU time per verdict, µs: the figure other load on the machine moves least. */
  readonly server_cpu_us_per_verdict: number;
  /** The server's main thread alone (its event loop; the signature checks run beside it on libuv's pool). */
  readonly server_loop_us_per_verdict: number;
  readonly load_cpu_cores: number;
  readonly load_cpu_us_per_verdict: number;
  readonly server_rss_mib: number;
  readonly load_rss_mib: number;
  /** 1, 5 and 15 minute load averages as the window opened. */
  readonly load_average_at_start: readonly number[];
  /** `mqtt-json-sqlite`: attestation rows written in the window, and the transactions (group commits) that wrote them. */
  readonly stored_attestations?: number;
  readonly commits?: number;
}

export function summarize(before: FloorSnapshot, after: FloorSnapshot, seconds: number, loadAverageAtStart: readonly number[]): FloorWindow {
  const verdicts = after.devices.verdicts - before.devices.verdicts;
  const per = Math.max(1, verdicts);
  const serverMs = after.server.cpu.cpuMs - before.server.cpu.cpuMs;
  const serverLoopMs = after.server.cpu.mainThreadCpuMs - before.server.cpu.mainThreadCpuMs;
  const loadMs = after.devices.cpu.cpuMs - before.devices.cpu.cpuMs;
  const latencies = Float64Array.from(after.devices.latencies).sort();
  const rounds = Float64Array.from(after.devices.roundLatencies).sort();
  return {
    seconds: round(seconds, 2),
    verdicts,
    verdicts_per_s: round(verdicts / seconds),
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    round_p50_ms: round(percentile(rounds, 50), 2),
    round_p99_ms: round(percentile(rounds, 99), 2),
    server_cpu_cores: round(serverMs / 1000 / seconds, 2),
    server_cpu_us_per_verdict: Math.round((serverMs * 1000) / per),
    server_loop_us_per_verdict: Math.round((serverLoopMs * 1000) / per),
    load_cpu_cores: round(loadMs / 1000 / seconds, 2),
    load_cpu_us_per_verdict: Math.round((loadMs * 1000) / per),
    server_rss_mib: round(after.server.cpu.rssBytes / 2 ** 20),
    load_rss_mib: round(after.devices.cpu.rssBytes / 2 ** 20),
    load_average_at_start: loadAverageAtStart.map((x) => round(x, 2)),
    ...(after.server.stored !== undefined && before.server.stored !== undefined
      ? { stored_attestations: after.server.stored.attestations - before.server.stored.attestations, commits: (after.server.commits ?? 0) - (before.server.commits ?? 0) }
      : {}),
  };
}

/** One line per variant, in the verify benchmark's layout. */
export function formatWindow(label: string, w: FloorWindow): string {
  return (
    `${label.padEnd(28)} ${String(Math.round(w.verdicts_per_s)).padStart(6)} verdicts/s` +
    `  p50 ${w.p50_ms} ms  p99 ${w.p99_ms} ms (round p50 ${w.round_p50_ms} ms)` +
    `  server ${w.server_cpu_cores} cores (${w.server_cpu_us_per_verdict} µs/verdict, event loop ${w.server_loop_us_per_verdict})` +
    `  load gen ${w.load_cpu_cores} cores (${w.load_cpu_us_per_verdict} µs/verdict)` +
    `  load avg ${w.load_average_at_start.map((x) => x.toFixed(2)).join(' ')}\n`
  );
}
