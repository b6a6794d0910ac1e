// Benchmark `fleet`: a whole fleet under continuous attestation. 10,000
// SIMULATED devices (software TPMs emitting genuine TPMS_ATTEST and
// TPMT_SIGNATURE, each with its own certificate, AK, boot log and model
// log; `bench/src/fleet`) and a few REAL ones (swtpm + the built
// vigil-agent, enrolled through the registrar) connect over mutual TLS at
// a bounded, jittered rate and are then challenged by the server's own
// schedule (every 60 s, ±10 %, each device on its own phase) for 10
// minutes. Nothing asks for extra challenges: the load is what a fleet of
// that size puts on a verifier.
//
// Figures: server RSS and CPU over time (a sample every 10 s), verdict
// latency (evidence handed to the device's MQTT client → its result
// received) p50/p99/max, and a ledger: every challenge the server issued
// in the window (counted off the broker's sends: sealed challenges are not
// stored) set against what the devices received, answered and got back,
// and what the store consumed and recorded, each gap counted with its
// cause. Then a search, bounded in time, for the largest fleet
// this machine holds with p99 under 1 s: the connected fleet is kept and
// the verdict load of larger fleets is added on top (open-loop challenge
// requests at (M − N) / interval per second), step by step, until p99
// reaches 1 s or the server no longer keeps up. That is the load of a fleet
// of M; its connections are not all there, so the memory they would take
// is projected from the RSS each connection cost here, and the file
// descriptor limit of the server process is reported beside it.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { percentile, type Fleet, type FleetSnapshot, type LedgerCounts } from './fleet/index.js';
import { startLoad, type LoadSetup } from './load-rig.js';
import { delay, drain, formatWindow, measure, round, type WindowResult } from './load-window.js';
import { profiled } from './profile/cpu-profile.js';
import { numberArg, type Benchmark, type BenchOptions } from './registry.js';
import type { LoadServer } from './server-rig.js';
import { DEVICE_KINDS, type DeviceKind } from './issued-ledger.js';
import { readStoreLedger, serverLedger, type ServerLedger } from './store-ledger.js';

/** One point of the timeline: the interval since the previous sample. */
interface Sample {
  readonly atSeconds: number;
  readonly connected: number;
  readonly verdicts: number;
  readonly verdictsPerSecond: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The longest the server's event loop was held in the interval, ms (10 ms resolution). */
  readonly serverLoopStallMaxMs: number;
  readonly serverRssMiB: number;
  readonly serverCpuCores: number;
  readonly serverLoopCores: number;
  readonly loadRssMiB: number;
  readonly loadCpuCores: number;
  readonly loadAverage1m: number;
}

interface Gap {
  readonly count: number;
  readonly what: string;
  readonly cause: string;
}

interface SearchStep {
  readonly fleet: number;
  readonly offeredPerSecond: number;
  /** The fleet whose schedule the verdicts carried in the window amount to (verdicts/s × interval): the schedule's own share swings with its phases. */
  readonly carriedFleet: number;
  readonly window: WindowResult;
  readonly held: boolean;
  readonly why?: string;
}

const MiB = 2 ** 20;

/** The soft limit on open files of this process (/proc/self/limits): every connection the server holds is one. */
function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    return Number(line?.split(/\s{2,}/)[1]);
  } catch {
    return Number.NaN;
  }
}

/** Samples the server and the fleet every `everyMs` until stopped; keeps every latency for the whole-run percentiles. */
function startSampler(fleet: Fleet, server: LoadServer, everyMs: number, log: (s: string) => void) {
  const samples: Sample[] = [];
  const latencies: Float64Array[] = [];
  const t0 = performance.now();
  let last = { t: t0, usage: server.usage(), snapshot: undefined as FleetSnapshot | undefined };
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let wake: () => void = () => undefined;
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  const take = async (): Promise<void> => {
    const snapshot = await fleet.snapshot();
    const t = performance.now();
    const usage = server.usage();
    const seconds = (t - last.t) / 1000;
    latencies.push(snapshot.latencies);
    const verdicts = snapshot.answered - (last.snapshot?.answered ?? snapshot.answered - snapshot.latencies.length);
    const sample: Sample = {
      atSeconds: round((t - t0) / 1000),
      connected: snapshot.connected,
      verdicts,
      verdictsPerSecond: round(verdicts / seconds),
      p99Ms: round(percentile(snapshot.latencies, 99), 2),
      maxMs: round(snapshot.latencies.length > 0 ? snapshot.latencies[snapshot.latencies.length - 1]! : Number.NaN, 2),
      serverLoopStallMaxMs: round(stalls.max / 1e6),
      serverRssMiB: round(usage.rssBytes / MiB),
      serverCpuCores: round((usage.cpuMs - last.usage.cpuMs) / 1000 / seconds, 3),
      serverLoopCores: round((usage.mainThreadCpuMs - last.usage.mainThreadCpuMs) / 1000 / seconds, 3),
      loadRssMiB: round(snapshot.loadRssBytes / MiB),
      loadCpuCores: round(last.snapshot === undefined ? Number.NaN : (snapshot.loadCpuMs - last.snapshot.loadCpuMs) / 1000 / seconds, 3),
      loadAverage1m: round(loadavg()[0]!, 2),
    };
    stalls.reset();
    samples.push(sample);
    last = { t, usage, snapshot };
    log(
      `  ${String(sample.atSeconds).padStart(6)} s  ${sample.connected} connected  ${String(sample.verdictsPerSecond).padStart(6)} verdicts/s  p99 ${sample.p99Ms} ms  max ${sample.maxMs} ms  stall ${sample.serverLoopStallMaxMs} ms` +
        `  server ${sample.serverRssMiB} MiB, ${sample.serverCpuCores} cores  load gen ${sample.loadRssMiB} MiB  load avg ${sample.loadAverage1m}\n`,
    );
  };
  const loop = (async () => {
    await fleet.snapshot(); // clears what came before
    last = { t: performance.now(), usage: server.usage(), snapshot: await fleet.snapshot() };
    while (running) {
      const due = last.t + everyMs - performance.now();
      if (due > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, due);
        });
      }
      if (!running) break;
      await take();
    }
  })();
  return {
    samples,
    async stop(): Promise<Float64Array> {
      running = false;
      clearTimeout(timer);
      wake();
      await loop;
      await take();
      stalls.disable();
      const all = new Float64Array(latencies.reduce((n, l) => n + l.length, 0));
      let at = 0;
      for (const l of latencies) {
        all.set(l, at);
        at += l.length;
      }
      return all.sort();
    },
  };
}

/** Every way a challenge of the window can fall short of a verdict stored and received, counted from both sides. */
export function gapsOf(server: ServerLedger, devices: LedgerCounts): { gaps: Gap[]; verdictsReceived: number; errorResults: number } {
  const results = Object.entries(devices.results);
  const verdictsReceived = results.filter(([k]) => !k.startsWith('error:')).reduce((n, [, v]) => n + v, 0);
  const errorResults = results.filter(([k]) => k.startsWith('error:')).reduce((n, [, v]) => n + v, 0);
  const candidates: Gap[] = [
    { count: server.undelivered, what: 'issued by the server, never handed to the device\'s connection', cause: 'the device was not connected or not subscribed when it was sent (reconnecting)' },
    {
      count: server.issued - server.undelivered - devices.received,
      what: 'handed to the device\'s connection, never received by the device',
      cause: 'lost with the connection (QoS 0 on a connection that was closing), or not read by the device',
    },
    { count: devices.received - devices.answered, what: 'received, not answered', cause: 'the simulated device was stopping' },
    { count: devices.evidenceFailed, what: 'evidence that could not be sent', cause: 'the connection had closed (devices publish at QoS 0: no acknowledgement to wait for)' },
    {
      count: devices.answered - devices.evidenceFailed - server.consumed,
      what: 'evidence sent, challenge not consumed',
      cause: `lost with its connection, or refused before appraisal (error results: ${JSON.stringify(Object.fromEntries(results.filter(([k]) => k.startsWith('error:'))))})`,
    },
    { count: server.consumed - server.recorded, what: 'challenge consumed, no attestation recorded', cause: 'the verifier failed between recording the challenge\'s use and storing the verdict' },
    {
      count: devices.answered - devices.evidenceFailed - verdictsReceived - errorResults,
      what: 'evidence sent, no result received',
      cause: 'the result was not published, or not delivered (connection lost), or still pending when the run ended',
    },
    { count: server.expiredUnused, what: 'issued, expired without a use in the store', cause: 'no evidence consumed them before their expiry' },
    { count: server.open, what: 'issued, neither used nor expired when the ledger was read', cause: 'the run ended before they were answered or expired' },
    { count: errorResults, what: 'error results instead of verdicts', cause: JSON.stringify(Object.fromEntries(results.filter(([k]) => k.startsWith('error:')))) },
  ];
  return { gaps: candidates.filter((g) => g.count !== 0), verdictsReceived, errorResults };
}

type ServerLedgers = Readonly<Record<DeviceKind, ServerLedger>>;

/**
 * The server's side of the ledger at one `now`: issued off the wire (`LoadServer.issued`, window
 * set beforehand) against consumed and recorded in the store. `undecodable` challenge messages are
 * returned beside it (not in any window).
 */
async function readServerLedger(server: LoadServer, from: number, to: number): Promise<{ ledgers: ServerLedgers; undecodable: number }> {
  const now = Date.now();
  const store = await readStoreLedger(server.paths.database, from, to, now);
  const issued = server.issued.counts(now);
  const ledgers = Object.fromEntries(DEVICE_KINDS.map((k) => [k, serverLedger(issued[k], store[k])])) as Record<DeviceKind, ServerLedger>;
  return { ledgers, undecodable: issued.undecodable };
}

/** Waits until no challenge of the window is open and the devices have a result for every answer, or `timeoutMs`. */
async function settleLedger(
  setup: LoadSetup,
  from: number,
  to: number,
  timeoutMs: number,
): Promise<{ server: ServerLedgers; undecodable: number; devices: LedgerCounts }> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const [server, snapshot] = await Promise.all([readServerLedger(setup.server, from, to), setup.fleet.snapshot()]);
    const d = snapshot.ledger;
    const results = Object.values(d.results).reduce((n, v) => n + v, 0);
    const settled = server.ledgers.simulated.open <= 0 && server.ledgers.real.open <= 0 && results + d.evidenceFailed >= d.answered;
    if (settled || performance.now() > end) return { server: server.ledgers, undecodable: server.undecodable, devices: d };
    await delay(1000);
  }
}

/**
 * The largest fleet whose verdict load the server carries with p99 under
 * 1 s: fleets of `size × factor` as open-loop requests on top of the
 * schedule, then halving the last interval while time is left.
 */
async function searchLargestFleet(
  setup: LoadSetup,
  options: { size: number; intervalSeconds: number; baseHeld: boolean; budgetMs: number; windowSeconds: number; settleMs: number; log: (s: string) => void },
): Promise<{ steps: SearchStep[]; largest: number; firstFailing: number | null; budgetExhausted: boolean }> {
  const { fleet, server } = setup;
  const start = performance.now();
  const stepMs = options.settleMs + options.windowSeconds * 1000 + 5_000; // + the drain after a step
  const steps: SearchStep[] = [];
  let largest = options.baseHeld ? options.size : 0;
  let failing: number | null = options.baseHeld ? null : options.size;
  const tryFleet = async (m: number): Promise<boolean> => {
    const extra = (m - options.size) / options.intervalSeconds;
    const target = m / options.intervalSeconds;
    fleet.setRequestRate(extra);
    await delay(options.settleMs);
    const w = await measure(fleet, server, options.windowSeconds);
    fleet.setRequestRate(0);
    await drain(fleet, 5_000);
    const errors = Object.keys(w.outcomes).filter((k) => k !== 'affirming');
    // Not the verdict rate: the schedule's share of it swings with the fleet's phases (they follow the connection ramp).
    // A server that falls behind shows in p99, and in requests skipped because a device still waits for its last verdict.
    const why =
      w.p99Ms >= 1000
        ? `p99 ${w.p99Ms} ms`
        : errors.length > 0
          ? `outcomes ${errors.join(', ')}`
          : w.requestsSkipped > 0.01 * extra * w.seconds
            ? `${w.requestsSkipped} requests skipped: devices still waiting for a verdict`
            : undefined;
    const held = why === undefined;
    steps.push({ fleet: m, offeredPerSecond: round(target), carriedFleet: Math.round(w.verdictsPerSecond * options.intervalSeconds), window: w, held, ...(why !== undefined ? { why } : {}) });
    options.log(formatWindow(`fleet of ${m} (load)`, w).replace('\n', held ? '  held\n' : `  NOT held: ${why}\n`));
    return held;
  };
  const timeLeft = () => options.budgetMs - (performance.now() - start) >= stepMs;
  // Upwards while every step holds: twice the fleet first, then by half again while p99 is far from 1 s, by a fifth once it is not.
  let m = options.size * 2;
  while (failing === null && timeLeft()) {
    if (await tryFleet(m)) largest = m;
    else failing = m;
    m = Math.round((m * (steps.at(-1)!.window.p99Ms < 250 ? 1.5 : 1.2)) / 100) * 100;
  }
  // Then halve the interval between the largest that held and the first that did not.
  while (failing !== null && failing - largest > Math.max(500, options.size * 0.1) && timeLeft()) {
    const m = Math.round((largest + failing) / 2 / 100) * 100;
    if (m <= largest || m >= failing) break;
    if (await tryFleet(m)) largest = m;
    else failing = m;
  }
  return { steps, largest, firstFailing: failing, budgetExhausted: !timeLeft() };
}

/** The whole benchmark ends by this mark (the issue's bound is 15 minutes), and stopping 10,000 devices and the server is given this much of it. */
const RUN_MARK_MS = 14 * 60_000;
const STOP_RESERVE_MS = 45_000;

/** The largest-fleet search's budget: what was asked for, or what is left before the run's mark after `elapsedMs`, whichever is less. */
export function searchBudgetMs(requestedMs: number, elapsedMs: number): number {
  return Math.max(0, Math.min(requestedMs, RUN_MARK_MS - STOP_RESERVE_MS - elapsedMs));
}

export const fleetBenchmark: Benchmark = {
  description: 'a fleet under continuous attestation: 10,000 simulated + a few swtpm devices over mutual TLS, challenged every 60 s for 10 minutes; RSS, CPU, p99, lost verdicts; then the largest fleet with p99 < 1 s',
  options: {
    devices: 'simulated devices (default 10000)',
    swtpm: 'real devices: swtpm + vigil-agent (default 4)',
    minutes: 'length of the measured run (default 10)',
    interval: 'attestation interval, s (default 60)',
    ramp: 'connections per second while the fleet connects (default 90, each slot jittered by ±50 %; refused attempts retried with backoff)',
    processes: 'load-generator processes (default: one per 5,000 devices; a simulated device holds ~250 KiB there)',
    'sample-seconds': 'timeline resolution (default 10)',
    'search-seconds': 'time budget of the largest-fleet search (default 60; shortened when the run so far leaves less before its 14-minute mark, so the whole benchmark stays under 15 minutes; 0 skips it)',
  },
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const startedAt = performance.now();
    const log = (s: string) => process.stdout.write(s);
    const q = options.quick;
    const devices = numberArg(options, 'devices', q ? 30 : 10_000);
    const swtpm = numberArg(options, 'swtpm', q ? 1 : 4);
    const minutes = numberArg(options, 'minutes', q ? 0.1 : 10);
    const intervalSeconds = numberArg(options, 'interval', q ? 4 : 60);
    // 90/s: on these 2 cores, shared with the load generator, 10,000 devices connected in 114 s with no
    // attempt retried at 90/s, but in 116-169 s at 105-125/s, the handshakes falling behind and
    // 682-8,128 attempts retried (2026-11-29 04:15-05:12 UTC, docs/benchmarks.md).
    const ramp = numberArg(options, 'ramp', q ? 60 : 90);
    const processes = numberArg(options, 'processes', Math.ceil(devices / 5000));
    const sampleSeconds = numberArg(options, 'sample-seconds', q ? 2 : 10);
    const searchSeconds = numberArg(options, 'search-seconds', q ? 8 : 60);
    if (devices < 1 || ramp <= 0 || intervalSeconds <= 0 || minutes <= 0) throw new RangeError('--devices, --ramp, --interval and --minutes must be positive');
    // A challenge lives half an interval, at most the default 30 s: the ledger can close that soon after the run.
    const ttlSeconds = Math.min(30, intervalSeconds / 2);
    log(`  load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);

    const setup = await startLoad({
      name: 'fleet',
      devices,
      swtpm,
      akKind: 'ecc',
      connectPerSecond: ramp,
      connectJitter: 0.5,
      keyPool: 64,
      processes,
      config: { 'attestation.intervalSeconds': intervalSeconds, 'attestation.challengeTtlSeconds': ttlSeconds },
      log,
    });
    const { fleet, server } = setup;
    try {
      const rssConnected = server.usage().rssBytes;
      const rssPerConnection = (rssConnected - setup.rssBeforeConnectBytes) / devices;
      log(`  server RSS ${round(setup.rssBeforeConnectBytes / MiB)} MiB before the fleet connected, ${round(rssConnected / MiB)} MiB after its first verdicts (${round(rssPerConnection / 1024)} KiB per device)\n`);

      // The ledger window: challenges the server issues from t0 to t1, named by their expiry (issue time + TTL).
      const ttlMs = ttlSeconds * 1000;
      const t0 = Date.now() + 1000; // the window reaches the load generators before its first challenge can
      const t1 = t0 + Math.round(minutes * 60_000);
      server.issued.setWindow(t0 + ttlMs, t1 + ttlMs);
      fleet.setLedgerWindow(t0 + ttlMs, t1 + ttlMs);
      await delay(t0 - Date.now());
      const cpu0 = server.usage();
      const load0 = await fleet.snapshot();
      log(`  measuring ${minutes} min: the server challenges every device every ${intervalSeconds} s (±10 %)\n`);
      const sampler = startSampler(fleet, server, sampleSeconds * 1000, log);
      await profiled('fleet-run', () => delay(t1 - Date.now()));
      const latencies = await sampler.stop();
      const seconds = (Date.now() - t0) / 1000;
      const cpu1 = server.usage();
      const load1 = await fleet.snapshot();

      const ledger = await settleLedger(setup, t0 + ttlMs, t1 + ttlMs, ttlMs + 15_000);
      const { server: serverSide, devices: deviceLedger } = ledger;
      const { gaps, verdictsReceived, errorResults } = gapsOf(serverSide.simulated, deviceLedger);
      if (ledger.undecodable !== 0) gaps.push({ count: ledger.undecodable, what: 'challenge messages the protocol\'s decoder refused (any window)', cause: 'the server sent a malformed challenge' });
      const lostVerdicts = serverSide.simulated.issued - verdictsReceived;
      const realGap = serverSide.real.issued - serverSide.real.recorded;
      log(
        `  ledger (simulated): ${serverSide.simulated.issued} challenges issued (sent by the broker), ${deviceLedger.received} received, ${deviceLedger.answered} answered, ` +
          `${serverSide.simulated.consumed} consumed (store), ${serverSide.simulated.recorded} recorded, ${verdictsReceived} verdicts received` +
          `${errorResults > 0 ? `, ${errorResults} error results` : ''}: ${lostVerdicts} lost\n` +
          gaps.map((g) => `    ${g.count} ${g.what}: ${g.cause}\n`).join('') +
          `  ledger (real): ${serverSide.real.issued} challenges issued, ${serverSide.real.consumed} consumed, ${serverSide.real.recorded} recorded ${JSON.stringify(serverSide.real.recordedByOutcome)}\n`,
      );

      const verdicts = load1.answered - load0.answered;
      const serverCpuMs = cpu1.cpuMs - cpu0.cpuMs;
      const rss = sampler.samples.map((s) => s.serverRssMiB);
      const run = {
        seconds: round(seconds),
        verdicts,
        verdicts_per_s: round(verdicts / seconds),
        p50_ms: round(percentile(latencies, 50), 2),
        p99_ms: round(percentile(latencies, 99), 2),
        max_ms: round(latencies.length > 0 ? latencies[latencies.length - 1]! : Number.NaN, 2),
        outcomes: Object.fromEntries(Object.entries(load1.outcomes).map(([k, v]) => [k, v - (load0.outcomes[k] ?? 0)]).filter(([, v]) => (v as number) > 0)),
        disconnects: load1.disconnects - load0.disconnects,
        server: {
          cpu_cores_mean: round(serverCpuMs / 1000 / seconds, 3),
          cpu_us_per_verdict: Math.round((serverCpuMs * 1000) / Math.max(1, verdicts)),
          event_loop_us_per_verdict: Math.round(((cpu1.mainThreadCpuMs - cpu0.mainThreadCpuMs) * 1000) / Math.max(1, verdicts)),
          rss_mib_before_connect: round(setup.rssBeforeConnectBytes / MiB),
          rss_mib_connected: round(rssConnected / MiB),
          rss_mib_min: Math.min(...rss),
          rss_mib_max: Math.max(...rss),
          rss_mib_end: rss.at(-1) ?? Number.NaN,
          rss_kib_per_device: round(rssPerConnection / 1024),
        },
        load_generator: {
          cpu_cores_mean: round((load1.loadCpuMs - load0.loadCpuMs) / 1000 / seconds, 3),
          cpu_us_per_verdict: Math.round(((load1.loadCpuMs - load0.loadCpuMs) * 1000) / Math.max(1, verdicts)),
          rss_mib_end: round(load1.loadRssBytes / MiB),
        },
      };
      log(
        `  run: ${verdicts} verdicts in ${run.seconds} s (${run.verdicts_per_s}/s), p50 ${run.p50_ms} ms, p99 ${run.p99_ms} ms, max ${run.max_ms} ms; ` +
          `server ${run.server.cpu_cores_mean} cores (${run.server.cpu_us_per_verdict} µs/verdict), RSS ${run.server.rss_mib_min}-${run.server.rss_mib_max} MiB\n`,
      );

      // The search.
      const fdLimit = openFilesLimit();
      let search: Record<string, unknown> = { skipped: true };
      // Setup time varies with the machine (registering 10,000 devices took 21-43 s here): the search
      // gets what is left before the run's 14-minute mark, keeping a reserve for stopping the fleet.
      const budgetMs = searchBudgetMs(searchSeconds * 1000, performance.now() - startedAt);
      if (budgetMs < searchSeconds * 1000) log(`  search budget cut to ${Math.round(budgetMs / 1000)} s by the run's ${RUN_MARK_MS / 60_000}-minute mark\n`);
      if (budgetMs > 0) {
        log(`  largest fleet with p99 < 1 s: the ${devices} connected devices carry the verdict load of larger fleets (${Math.round(budgetMs / 1000)} s budget)\n`);
        const found = await searchLargestFleet(setup, {
          size: devices,
          intervalSeconds,
          baseHeld: run.p99_ms < 1000 && lostVerdicts === 0,
          budgetMs,
          windowSeconds: q ? 2 : 10,
          settleMs: q ? 500 : 3000,
          log,
        });
        const projectedRssMiB = round(run.server.rss_mib_end + ((found.largest - devices) * rssPerConnection) / MiB);
        const largestStep = found.steps.find((st) => st.fleet === found.largest);
        search = {
          method: 'verdict load of a fleet of M (M / interval verdicts per second) on the connected fleet; connections beyond it projected',
          largest_step_carried_fleet: largestStep?.carriedFleet ?? null,
          budget_s: round(budgetMs / 1000),
          budget_requested_s: searchSeconds,
          steps: found.steps,
          largest_fleet_p99_under_1s: found.largest,
          first_fleet_not_held: found.firstFailing,
          bounded_by:
            found.firstFailing !== null
              ? 'latency or throughput (a step did not hold)'
              : found.steps.length === 0
                ? 'the time budget: no step ran, the figure is the connected fleet (a lower bound; `--minutes 1 --search-seconds 600` gives the search its time)'
                : 'the time budget (every step held: a lower bound)',
          projected_server_rss_mib: projectedRssMiB,
          server_open_files_limit: fdLimit,
        };
        log(
          `  largest fleet with p99 < 1 s: ${found.largest}${found.firstFailing !== null ? ` (${found.firstFailing} did not hold)` : found.steps.length === 0 ? ' at least (no step fitted in the time left; --minutes 1 --search-seconds 600 gives the search its time)' : ' at least (the time budget ended the search)'}; ` +
            `its connections would take ~${projectedRssMiB} MiB of server RSS; this process may open ${fdLimit} files (one per connection)\n`,
        );
      }

      return {
        devices,
        real_devices: setup.real?.count ?? 0,
        minutes,
        interval_s: intervalSeconds,
        challenge_ttl_s: ttlSeconds,
        ramp: { per_second: ramp, jitter: 0.5, connect_seconds: round(setup.connectSeconds), connect_retries: load0.connectRetries, registration_seconds: round(setup.enrollSeconds) },
        verdicts_per_s: run.verdicts_per_s,
        p50_ms: run.p50_ms,
        p99_ms: run.p99_ms,
        lost_verdicts: lostVerdicts,
        gaps,
        ledger: {
          window_issue_from: new Date(t0).toISOString(),
          window_issue_to: new Date(t1).toISOString(),
          server: serverSide,
          undecodable_challenges: ledger.undecodable,
          devices: deviceLedger,
          real_device_gap: realGap,
        },
        real_device_verdicts: setup.real?.verdicts() ?? {},
        run,
        timeline: sampler.samples,
        search,
      };
    } finally {
      await setup.stop();
    }
  },
};
