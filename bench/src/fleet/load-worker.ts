/**
 * One load-generator process of the fleet simulator (started by
 * `Fleet`, built `dist/` only): holds its share of the simulated devices,
 * connects them at the rate it is told, answers their challenges, asks for
 * challenges at an open-loop rate or in a closed loop, and reports counters
 * and latencies on request. Running in its own process gives the load its
 * own core and keeps its CPU out of the server's figures.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { BootImage } from './boot-image.js';
import { SimDevice, type SimVerdictTiming } from './device.js';
import { identityFromRecord } from './identity.js';
import type { ControlMessage, LedgerCounts, WorkerInit, WorkerMessage, WorkerStats } from './messages.js';
import { setOwnNice } from './niceness.js';
import type { SimPlatform } from './attester.js';

const send = (m: WorkerMessage): void => {
  process.send?.(m);
};

let init: WorkerInit | undefined;
let devices: SimDevice[] = [];
let byId = new Map<string, SimDevice>();
let latencies: number[] = [];
const outcomes: Record<string, number> = {};
let connectFailures = 0;
let connectRetries = 0;
/** Connection attempts per device before it counts as failed (1, 2, 4, 8, 16 s apart, ±50 %). */
const CONNECT_ATTEMPTS = 6;
let requestsSkipped = 0;
/** This process's stalls: a stalled load generator delays the results it reads, and its latencies show it. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let looping = false;
let rateTimer: NodeJS.Timeout | undefined;
let stopped = false;
/** The ledger window (challenge `expiresAt`, epoch ms) and its counts. */
let ledgerFrom = Number.POSITIVE_INFINITY;
let ledgerTo = Number.NEGATIVE_INFINITY;
const ledger = { received: 0, answered: 0, evidenceFailed: 0, results: {} as Record<string, number> };
const inLedger = (expiresAt: number): boolean => expiresAt >= ledgerFrom && expiresAt < ledgerTo;

function onVerdict(t: SimVerdictTiming): void {
  latencies.push(t.latencyMs);
  outcomes[t.outcome] = (outcomes[t.outcome] ?? 0) + 1;
  if (inLedger(t.challengeExpiresAt)) ledger.results[t.outcome] = (ledger.results[t.outcome] ?? 0) + 1;
  // A device loops on verdicts by itself; after an error result (e.g. overloaded) it asks again a little later.
  if (looping && t.outcome.startsWith('error:')) {
    const d = byId.get(t.deviceId);
    setTimeout(() => {
      if (looping && d?.connected === true) void d.requestChallenge().catch(() => undefined);
    }, 100);
  }
}

function platformOf(message: WorkerInit): SimPlatform {
  const bootImage = message.bootLogPath === null ? undefined : BootImage.load(message.bootLogPath);
  return { ...(bootImage !== undefined ? { bootImage } : {}), ...(message.models !== null ? { models: message.models } : {}) };
}

async function connectAll(perSecond: number, jitter: number): Promise<void> {
  const m = init!;
  const slot = 1000 / perSecond;
  const start = performance.now();
  let firstError: string | undefined;
  let connected = 0;
  await Promise.all(
    devices.map(async (d, i) => {
      // Device i's slot, moved by up to ±jitter of a slot: arrivals like a fleet powering up, not a metronome.
      const at = start + i * slot + (Math.random() * 2 - 1) * jitter * slot;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Like the agent: a refused or timed-out attempt is retried after a jittered, doubling delay.
      for (let attempt = 0; !stopped; attempt++) {
        try {
          await d.connect(m.port, m.caPem);
          connected++;
          return;
        } catch (err) {
          if (attempt + 1 >= CONNECT_ATTEMPTS) {
            connectFailures++;
            firstError ??= (err as Error).message;
            return;
          }
          connectRetries++;
          await new Promise((r) => setTimeout(r, Math.min(16_000, 1000 * 2 ** attempt) * (0.5 + Math.random())));
        }
      }
    }),
  );
  send({ type: 'connected', connected, failed: devices.length - connected, ...(firstError !== undefined ? { firstError } : {}) });
}

/** Open loop: requests at `perSecond` over the devices in turn, whatever the answers do. */
function setRate(perSecond: number): void {
  if (rateTimer !== undefined) clearInterval(rateTimer);
  rateTimer = undefined;
  if (perSecond <= 0 || devices.length === 0) return;
  let next = 0;
  let due = 0;
  let last = performance.now();
  rateTimer = setInterval(() => {
    const now = performance.now();
    due += ((now - last) * perSecond) / 1000;
    last = now;
    while (due >= 1) {
      due -= 1;
      const d = devices[next]!;
      next = (next + 1) % devices.length;
      // A device still waiting for its last verdict is not asked again (its queue would refuse it): counted, not sent.
      if (d.unanswered > 0 || !d.connected) {
        requestsSkipped++;
        continue;
      }
      // QoS 0, as the agent asks (and as the closed loop does): a QoS 1 request costs the server a PUBACK
      // the agent never asks for (nineteenth round, docs/benchmarks.md).
      d.askForChallenge();
    }
  }, 5);
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage();
  let disconnects = 0;
  let challenges = 0;
  let evidenceSent = 0;
  let answered = 0;
  let unanswered = 0;
  let connected = 0;
  let bootLogsSent = 0;
  for (const d of devices) {
    disconnects += d.disconnects;
    challenges += d.challengesSeen;
    evidenceSent += d.evidenceSent;
    answered += d.answered;
    unanswered += d.unanswered;
    bootLogsSent += d.bootLogsSent;
    if (d.connected) connected++;
  }
  const out: WorkerStats = {
    connected,
    connectFailures,
    connectRetries,
    disconnects,
    challenges,
    evidenceSent,
    answered,
    unanswered,
    requestsSkipped,
    bootLogsSent,
    outcomes: { ...outcomes },
    latencies: Float64Array.from(latencies),
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssBytes: process.memoryUsage.rss(),
    loopStallMaxMs: loopDelay.max / 1e6,
    ledger: { ...ledger, results: { ...ledger.results } } satisfies LedgerCounts,
  };
  latencies = [];
  loopDelay.reset();
  return out;
}

async function stop(): Promise<void> {
  stopped = true;
  setRate(0);
  await Promise.all(devices.map((d) => d.end()));
  send({ type: 'stopped' });
  process.disconnect?.();
}

process.on('message', (raw: unknown) => {
  const m = raw as ControlMessage;
  try {
    switch (m.type) {
      case 'init': {
        init = m;
        const nice = setOwnNice(m.nice);
        const platform = platformOf(m);
        devices = m.devices.map(
          (r) =>
            new SimDevice(identityFromRecord(r), {
              link: m.link,
              autoAnswer: true,
              record: false,
              validate: false,
              platform,
              host: m.host,
              keepaliveSeconds: m.keepaliveSeconds,
              reconnectMs: m.reconnectMs,
              onVerdict,
              onChallenge: (c, answered) => {
                if (!inLedger(c.expiresAt)) return;
                ledger.received++;
                if (answered) ledger.answered++;
              },
              onEvidenceFailed: (c) => {
                if (inLedger(c.expiresAt)) ledger.evidenceFailed++;
              },
              loop: false,
            }),
        );
        byId = new Map(devices.map((d) => [d.deviceId, d]));
        send({ type: 'ready', nice });
        break;
      }
      case 'connect':
        void connectAll(m.perSecond, m.jitter);
        break;
      case 'rate':
        setRate(m.perSecond);
        break;
      case 'loop':
        looping = m.on;
        for (const d of devices) d.loop = m.on;
        if (looping) for (const d of devices) if (d.unanswered === 0 && d.connected) void d.requestChallenge().catch(() => undefined);
        break;
      case 'ledger':
        ledgerFrom = m.from;
        ledgerTo = m.to;
        break;
      case 'stats':
        send({ type: 'stats', id: m.id, stats: stats() });
        break;
      case 'stop':
        void stop();
        break;
    }
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});

// The controller going away ends this process: no orphaned load generators.
process.on('disconnect', () => {
  if (!stopped) process.exit(0);
});
