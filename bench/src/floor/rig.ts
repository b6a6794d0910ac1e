/**
 * One variant of the floor, start to finish: the server process listening
 * on a free port, the device process connecting every device at a bounded
 * rate, the closed loop warmed up, one measurement window, and both
 * processes ended on every path (`FloorChild.stop`: stop message, SIGTERM,
 * SIGKILL).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { delay, round } from '../load-window.js';
import { builtChildScript, FloorChild } from './child.js';
import type { FloorCredentials } from './credentials.js';
import type { DeviceControl, DeviceReport, ServerControl, ServerReport } from './messages.js';
import { VARIANT_TRAITS, type FloorVariant } from './variant.js';
import { summarize, type FloorSnapshot, type FloorWindow } from './window.js';
import type { WireSizes } from './wire-sizes.js';

export interface VariantRun {
  readonly variant: FloorVariant;
  readonly credentials: FloorCredentials;
  readonly sizes: WireSizes;
  /** Connections a second while the devices connect. */
  readonly connectPerSecond: number;
  readonly warmupSeconds: number;
  readonly windowSeconds: number;
}

export interface VariantResult extends FloorWindow {
  readonly connect_seconds: number;
}

type ServerChild = FloorChild<ServerControl, ServerReport>;
type DeviceChild = FloorChild<DeviceControl, DeviceReport>;

const IPC_TIMEOUT_MS = 30_000;

export async function runVariant(run: VariantRun): Promise<VariantResult> {
  const traits = VARIANT_TRAITS[run.variant];
  const { devices, tls } = run.credentials;
  if (traits.tls && tls === undefined) throw new Error(`variant ${run.variant} needs TLS credentials`);
  const server: ServerChild = new FloorChild('floor server', builtChildScript('server-child.js'));
  let fleet: DeviceChild | undefined;
  try {
    const listening = server.next('listening', IPC_TIMEOUT_MS);
    server.send({
      type: 'init',
      traits,
      sizes: run.sizes,
      aks: devices.map((d) => ({ deviceId: d.deviceId, spki: d.akSpki })),
      ...(traits.tls ? { tls: { caPem: tls!.caPem, certPem: tls!.server.certPem, keyPem: tls!.server.keyPem } } : {}),
    });
    const { port } = await listening;

    const deviceChild: DeviceChild = new FloorChild('floor devices', builtChildScript('device-child.js'));
    fleet = deviceChild;
    const ready = deviceChild.next('ready', IPC_TIMEOUT_MS);
    deviceChild.send({
      type: 'init',
      traits,
      sizes: run.sizes,
      host: '127.0.0.1',
      port,
      devices: devices.map((d) => ({ deviceId: d.deviceId, akPkcs8: d.akPkcs8, ...(traits.tls ? { certPem: d.certPem! } : {}) })),
      ...(traits.tls ? { tls: { caPem: tls!.caPem, keyPem: tls!.deviceKeyPem } } : {}),
    });
    await ready;

    const c0 = performance.now();
    const connectedReport = deviceChild.next('connected', IPC_TIMEOUT_MS + (devices.length / run.connectPerSecond) * 2000);
    deviceChild.send({ type: 'connect', perSecond: run.connectPerSecond });
    const connected = await connectedReport;
    const connectSeconds = (performance.now() - c0) / 1000;
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${devices.length} devices could not connect: ${connected.firstError ?? 'no reason given'}`);

    deviceChild.send({ type: 'loop', on: true });
    await delay(run.warmupSeconds * 1000);
    const snapshots = new Snapshots(server, deviceChild);
    const before = await snapshots.take();
    const loadAverage = loadavg();
    const t0 = performance.now();
    await delay(run.windowSeconds * 1000);
    const after = await snapshots.take();
    const seconds = (performance.now() - t0) / 1000;
    deviceChild.send({ type: 'loop', on: false });
    check(run.variant, after);
    return { ...summarize(before, after, seconds, loadAverage), connect_seconds: round(connectSeconds, 2) };
  } finally {
    await fleet?.stop({ type: 'stop' }, 5000);
    await server.stop({ type: 'stop' }, 5000);
  }
}

/** Both children's counters, asked for together. */
class Snapshots {
  #next = 1;

  constructor(
    private readonly server: ServerChild,
    private readonly devices: DeviceChild,
  ) {}

  async take(): Promise<FloorSnapshot> {
    const id = this.#next++;
    const server = this.server.next('stats', IPC_TIMEOUT_MS, (m) => m.id === id);
    const devices = this.devices.next('stats', IPC_TIMEOUT_MS, (m) => m.id === id);
    this.server.send({ type: 'stats', id });
    this.devices.send({ type: 'stats', id });
    const [s, d] = await Promise.all([server, devices]);
    return { server: s.stats, devices: d.stats };
  }
}

/** A floor that lost connections or got anything but affirming verdicts measured something else: it fails. */
function check(variant: FloorVariant, s: FloorSnapshot): void {
  const wrong = Object.entries(s.devices.outcomes).filter(([name]) => name !== 'affirming');
  const refusals = Object.entries(s.server.refusals);
  if (wrong.length > 0 || refusals.length > 0 || s.devices.disconnects > 0) {
    throw new Error(
      `floor ${variant}: non-affirming results ${JSON.stringify(Object.fromEntries(wrong))}, server refusals ${JSON.stringify(Object.fromEntries(refusals))}, ` +
        `${s.devices.disconnects} disconnects ${JSON.stringify(s.devices.errors)}`,
    );
  }
  if (s.devices.verdicts === 0) throw new Error(`floor ${variant}: no verdicts at all`);
  // Stored before published: the devices cannot have more verdicts than the store has rows.
  if (VARIANT_TRAITS[variant].sqlite && (s.server.stored === undefined || s.server.stored.attestations < s.devices.verdicts)) {
    throw new Error(`floor ${variant}: ${s.devices.verdicts} verdicts received but ${s.server.stored?.attestations ?? 'no'} attestations stored`);
  }
}
