/**
 * The fleet simulator's controller: spreads simulated devices over one or
 * more load-generator processes (`load-worker.ts`, run from the built
 * `dist/` so tests under vitest can use it too), connects them at a bounded,
 * jittered rate, drives the load (the server's own schedule, an open-loop
 * request rate, or a closed loop) and gathers what the devices saw.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BOOT_LOG } from './boot-image.js';
import { identityRecord, type SimIdentity } from './identity.js';
import type { SimLinkKind } from './link/link.js';
import type { ControlMessage, WorkerMessage, WorkerStats } from './messages.js';
import { modelRelease, type ModelFile } from './model-set.js';
import { checkNice, loadNiceFromEnvironment } from './niceness.js';

// From bench/src/fleet/ (tests) or bench/dist/fleet/ (benchmarks): always the built worker.
const WORKER = fileURLToPath(new URL('../../dist/fleet/load-worker.js', import.meta.url));

export interface FleetOptions {
  readonly port: number;
  readonly caPem: string;
  /** Default 127.0.0.1 (TLS server name `localhost`, the name the broker certificate carries). */
  readonly host?: string;
  readonly devices: readonly SimIdentity[];
  /** Load-generator processes (default 1: on a 2-core machine the server needs the other core). */
  readonly processes?: number;
  /** Event log replayed into every device's PCRs and sent as its boot log (default: the demo's GCE log); null: none, PCRs stay zero. */
  readonly bootLog?: string | null;
  /** Models measured at boot (default: a release of three files); null: no model log. */
  readonly models?: readonly ModelFile[] | null;
  readonly keepaliveSeconds?: number;
  /** First wait before reconnecting a dropped device, ms (default 1000; 0 = never reconnect). */
  readonly reconnectMs?: number;
  /**
   * The devices' wire (default `lean`, or VIGIL_BENCH_FLEET_LINK): the lean
   * MQTT client spends a fraction of mqtt.js's CPU per message, and the load
   * generator shares the machine with the server it measures. `mqttjs`
   * compares the two.
   */
  readonly link?: SimLinkKind;
  /**
   * Nice value of the load-generator processes, every thread (default 10, or
   * VIGIL_BENCH_LOAD_NICE): they stand in for devices with CPUs of their
   * own, so they yield a core to the server they measure rather than
   * preempt it (`niceness.ts`). 0 runs them at the server's priority.
   */
  readonly nice?: number;
}

/** Everything the devices saw, summed over the processes (the workers' counters, see `WorkerStats`). */
export interface FleetSnapshot extends Omit<WorkerStats, 'cpuMs' | 'rssBytes' | 'loopStallMaxMs'> {
  readonly devices: number;
  /** Evidence → result, ms, since the previous snapshot, sorted ascending. */
  readonly latencies: Float64Array;
  /** CPU time of the load generators (user + system), ms since they started, and their RSS. */
  readonly loadCpuMs: number;
  readonly loadRssBytes: number;
  /** The longest any load generator's event loop was held since the previous snapshot, ms. */
  readonly loadLoopStallMaxMs: number;
}

interface Worker {
  readonly child: ChildProcess;
  readonly devices: number;
  readonly exited: Promise<void>;
}

/**
 * Forks one load-generator process. Apart from `Fleet.start` on purpose:
 * the exit listener lives as long as the worker, and a closure made inside
 * `start` would keep `start`'s scope alive with it, and with that every
 * device's identity (keys, certificate, simulated TPM: ~15 KiB each) in the
 * process the server runs in, where it would count as server memory and be
 * marked by every full garbage collection.
 */
function forkWorker(devices: number): Worker {
  // VIGIL_BENCH_WORKER_NODE_OPTIONS: node flags for the load generators only (e.g. --cpu-prof to profile them).
  const execArgv = (process.env['VIGIL_BENCH_WORKER_NODE_OPTIONS'] ?? '').split(' ').filter((a) => a.length > 0);
  const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, devices, exited };
}

/**
 * A running simulated fleet. `start` forks the processes and hands each its
 * devices; nothing connects until `connect`.
 */
export class Fleet {
  #nextStats = 1;
  #closed = false;
  readonly #listeners = new Set<(w: number, m: WorkerMessage) => void>();
  readonly #workers: readonly Worker[];
  #nice: number | undefined;

  private constructor(
    readonly size: number,
    workers: readonly Worker[],
  ) {
    this.#workers = workers;
    this.#workers.forEach((w, i) => w.child.on('message', (m: unknown) => this.#listeners.forEach((l) => l(i, m as WorkerMessage))));
  }

  static async start(options: FleetOptions): Promise<Fleet> {
    const link = options.link ?? linkFromEnvironment();
    const processes = Math.max(1, Math.min(options.processes ?? 1, options.devices.length || 1));
    const shares: SimIdentity[][] = Array.from({ length: processes }, () => []);
    options.devices.forEach((d, i) => shares[i % processes]!.push(d));
    const nice = checkNice(options.nice ?? loadNiceFromEnvironment());
    const workers: Worker[] = shares.map((share) => forkWorker(share.length));
    const fleet = new Fleet(options.devices.length, workers);
    try {
      const ready = await Promise.all(
        workers.map((w, i) => {
          const ready = fleet.#await(i, (m) => m.type === 'ready');
          fleet.#send(i, {
            type: 'init',
            host: options.host ?? '127.0.0.1',
            port: options.port,
            caPem: options.caPem,
            devices: shares[i]!.map(identityRecord),
            bootLogPath: options.bootLog === undefined ? DEFAULT_BOOT_LOG : options.bootLog,
            models: options.models === undefined ? modelRelease() : options.models,
            keepaliveSeconds: options.keepaliveSeconds ?? 60,
            reconnectMs: options.reconnectMs ?? 1000,
            link,
            nice,
          });
          return ready;
        }),
      );
      const applied = new Set(ready.map((m) => (m.type === 'ready' ? m.nice : undefined)));
      if (applied.size !== 1 || !applied.has(nice)) throw new Error(`load generators run at nice ${[...applied].join(', ')}, not the ${nice} asked for`);
      fleet.#nice = nice;
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  /** The nice value every load-generator process runs at (`FleetOptions.nice`). */
  get nice(): number {
    return this.#nice!;
  }

  /**
   * Connects every device: `perSecond` in all (split over the processes),
   * each slot moved by up to ±`jitter` of its width. Resolves when every
   * device connected or failed, with the counts.
   */
  async connect(perSecond: number, jitter = 0.5): Promise<{ connected: number; failed: number; firstError?: string }> {
    const results = await Promise.all(
      this.#workers.map((w, i) => {
        const done = this.#await(i, (m) => m.type === 'connected');
        this.#send(i, { type: 'connect', perSecond: (perSecond * w.devices) / this.size, jitter });
        return done;
      }),
    );
    let connected = 0;
    let failed = 0;
    let firstError: string | undefined;
    for (const r of results) {
      if (r.type !== 'connected') continue;
      connected += r.connected;
      failed += r.failed;
      firstError ??= r.firstError;
    }
    return { connected, failed, ...(firstError !== undefined ? { firstError } : {}) };
  }

  /** Open loop: challenge requests at `perSecond` over the whole fleet (0 stops them). */
  setRequestRate(perSecond: number): void {
    this.#workers.forEach((w, i) => this.#send(i, { type: 'rate', perSecond: (perSecond * w.devices) / this.size }));
  }

  /** Closed loop: every device asks again as soon as its verdict arrives. */
  setLoop(on: boolean): void {
    this.#workers.forEach((_, i) => this.#send(i, { type: 'loop', on }));
  }

  /**
   * From now on, count what the devices do with every challenge whose
   * `expiresAt` (epoch ms, set by the server) is in [from, to): the device
   * side of a run's ledger, to set against the store's.
   */
  setLedgerWindow(from: number, to: number): void {
    this.#workers.forEach((_, i) => this.#send(i, { type: 'ledger', from, to }));
  }

  /** Counters so far and the latencies since the previous snapshot. */
  async snapshot(): Promise<FleetSnapshot> {
    const id = this.#nextStats++;
    const all = await Promise.all(
      this.#workers.map((_, i) => {
        const got = this.#await(i, (m) => m.type === 'stats' && m.id === id);
        this.#send(i, { type: 'stats', id });
        return got;
      }),
    );
    const stats = all.flatMap((m) => (m.type === 'stats' ? [m.stats] : []));
    const sum = (f: (s: WorkerStats) => number) => stats.reduce((a, s) => a + f(s), 0);
    const outcomes = sumRecords(stats.map((s) => s.outcomes));
    const latencies = new Float64Array(sum((s) => s.latencies.length));
    let at = 0;
    for (const s of stats) {
      latencies.set(s.latencies, at);
      at += s.latencies.length;
    }
    latencies.sort();
    return {
      devices: this.size,
      connected: sum((s) => s.connected),
      connectFailures: sum((s) => s.connectFailures),
      connectRetries: sum((s) => s.connectRetries),
      disconnects: sum((s) => s.disconnects),
      challenges: sum((s) => s.challenges),
      evidenceSent: sum((s) => s.evidenceSent),
      answered: sum((s) => s.answered),
      unanswered: sum((s) => s.unanswered),
      requestsSkipped: sum((s) => s.requestsSkipped),
      bootLogsSent: sum((s) => s.bootLogsSent),
      outcomes,
      latencies,
      loadCpuMs: sum((s) => s.cpuMs),
      loadRssBytes: sum((s) => s.rssBytes),
      loadLoopStallMaxMs: Math.max(0, ...stats.map((s) => s.loopStallMaxMs)),
      ledger: {
        received: sum((s) => s.ledger.received),
        answered: sum((s) => s.ledger.answered),
        evidenceFailed: sum((s) => s.ledger.evidenceFailed),
        results: sumRecords(stats.map((s) => s.ledger.results)),
      },
    };
  }

  /** Disconnects every device (MQTT DISCONNECT) and ends the processes. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#workers.map(async (w, i) => {
        if (w.child.exitCode !== null || !w.child.connected) return;
        this.#send(i, { type: 'stop' });
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
        await w.exited;
        clearTimeout(timer);
      }),
    );
  }

  #send(i: number, m: ControlMessage): void {
    const child = this.#workers[i]!.child;
    if (child.connected) child.send(m);
  }

  /** The next message from worker `i` that matches; rejects on a worker error or exit. */
  #await(i: number, match: (m: WorkerMessage) => boolean): Promise<WorkerMessage> {
    const w = this.#workers[i]!;
    return new Promise((resolve, reject) => {
      const onExit = () => {
        this.#listeners.delete(listener);
        reject(new Error(`load generator ${i} exited (code ${w.child.exitCode})`));
      };
      const listener = (from: number, m: WorkerMessage) => {
        if (from !== i) return;
        if (m.type === 'error') {
          this.#listeners.delete(listener);
          w.child.off('exit', onExit);
          reject(new Error(`load generator ${i}: ${m.message}`));
        } else if (match(m)) {
          this.#listeners.delete(listener);
          w.child.off('exit', onExit);
          resolve(m);
        }
      };
      this.#listeners.add(listener);
      w.child.once('exit', onExit);
    });
  }
}

function linkFromEnvironment(): SimLinkKind {
  const v = process.env['VIGIL_BENCH_FLEET_LINK'];
  if (v === undefined || v === '') return 'lean';
  if (v === 'lean' || v === 'mqttjs') return v;
  throw new RangeError(`VIGIL_BENCH_FLEET_LINK must be lean or mqttjs, got ${v}`);
}

function sumRecords(records: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The p-th percentile (nearest rank) of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
