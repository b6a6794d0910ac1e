/**
 * The floor's device process (started by the controller, built `dist/`
 * only): every simulated device, one connection each, single-threaded —
 * the layout of the fleet simulator's load generator. Connects them at the
 * rate it is told, runs the closed loop, and reports what the devices saw
 * and what the process spent.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { leanSecureContext } from '../fleet/lean-mqtt/index.js';
import { processCpu } from '../process-cpu.js';
import { serveParent } from './parent-link.js';
import { FloorDevice } from './device.js';
import { FloorMqttDevice, type FloorLoopDevice } from './device-ladder.js';
import { VERDICT_NAMES } from './frames.js';
import type { DeviceControl, DeviceInit, DeviceReport, DeviceStats } from './messages.js';
import { FloorQuoter } from './quote.js';

/** Attempts per device before it counts as failed (0.5, 1, 2 s apart). */
const CONNECT_ATTEMPTS = 4;
const CONNECT_TIMEOUT_MS = 10_000;

let devices: FloorLoopDevice[] = [];
let latencies: number[] = [];
let roundLatencies: number[] = [];
let verdicts = 0;
let disconnects = 0;
const outcomes: Record<string, number> = {};
const errors: Record<string, number> = {};
let stopped = false;

function init(m: DeviceInit): void {
  const onResult = (name: string, latencyMs: number, roundMs: number) => {
    verdicts++;
    latencies.push(latencyMs);
    roundLatencies.push(roundMs);
    outcomes[name] = (outcomes[name] ?? 0) + 1;
  };
  const onClose = (reason: string | undefined) => {
    if (reason === undefined || stopped) return;
    disconnects++;
    errors[reason] = (errors[reason] ?? 0) + 1;
  };
  devices = m.devices.map((d): FloorLoopDevice => {
    const ak = createPrivateKey({ key: Buffer.from(d.akPkcs8), format: 'der', type: 'pkcs8' });
    const secureContext =
      m.tls !== undefined && d.certPem !== undefined ? leanSecureContext({ caPem: m.tls.caPem, certPem: d.certPem, keyPem: m.tls.keyPem }) : undefined;
    const common = { deviceId: d.deviceId, host: m.host, port: m.port, traits: m.traits, sizes: m.sizes, ak, quoter: new FloorQuoter(createPublicKey(ak)), onClose };
    if (m.traits.mqtt) {
      if (secureContext === undefined) throw new Error('the ladder runs over mutual TLS only');
      return new FloorMqttDevice({ ...common, secureContext, onResult });
    }
    return new FloorDevice({
      ...common,
      ...(secureContext !== undefined ? { secureContext } : {}),
      onResult: (verdict, latencyMs, roundMs) => onResult(VERDICT_NAMES[verdict] ?? `verdict-${verdict}`, latencyMs, roundMs),
    });
  });
  send({ type: 'ready' });
}

/** Device i connects in its slot of `1 / perSecond` s; a failed attempt is retried after 0.5, 1, 2 s. */
async function connectAll(perSecond: number): Promise<void> {
  const slot = 1000 / perSecond;
  const start = performance.now();
  let connected = 0;
  let firstError: string | undefined;
  await Promise.all(
    devices.map(async (d, i) => {
      const wait = start + i * slot - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let attempt = 1; !stopped; attempt++) {
        try {
          await d.connect(CONNECT_TIMEOUT_MS);
          connected++;
          return;
        } catch (err) {
          if (attempt >= CONNECT_ATTEMPTS) {
            firstError ??= (err as Error).message;
            return;
          }
          await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        }
      }
    }),
  );
  send({ type: 'connected', connected, failed: devices.length - connected, ...(firstError !== undefined ? { firstError } : {}) });
}

function stats(): DeviceStats {
  const out: DeviceStats = {
    connected: devices.filter((d) => d.connected).length,
    disconnects,
    verdicts,
    outcomes: { ...outcomes },
    latencies: Float64Array.from(latencies),
    roundLatencies: Float64Array.from(roundLatencies),
    errors: { ...errors },
    cpu: processCpu(),
  };
  latencies = [];
  roundLatencies = [];
  return out;
}

function stop(): void {
  stopped = true;
  for (const d of devices) d.close();
  process.exit(0);
}

// Control messages from the benchmark; the benchmark going away ends this process (no orphaned load generators).
const send = serveParent<DeviceControl, DeviceReport>((m) => {
  switch (m.type) {
    case 'init':
      init(m);
      break;
    case 'connect':
      void connectAll(m.perSecond);
      break;
    case 'loop':
      for (const d of devices) {
        d.loop = m.on;
        if (m.on) d.ask();
      }
      break;
    case 'stats':
      send({ type: 'stats', id: m.id, stats: stats() });
      break;
    case 'stop':
      stop();
      break;
  }
}, stop);
