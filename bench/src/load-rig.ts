/**
 * The rig of the load benchmarks (`verify`, `fleet`): the real server in
 * this process (`server-rig.ts`), `devices` simulated devices registered in
 * its store and spread over load-generator processes, connected over mutual
 * TLS at a bounded, jittered rate, every one past its first (affirming)
 * verdict, and `swtpm` real devices (swtpm + the built vigil-agent,
 * enrolled through the registrar) attesting on the server's schedule.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateEnrollmentToken, hashEnrollmentToken } from '@vigil/server';
import { BootImage, enrollSimDevices, Fleet, modelRelease, tlsKeyPool, type SimAkKind } from './fleet/index.js';
import { SwtpmAgents } from './fleet/swtpm-agents.js';
import { delay, round } from './load-window.js';
import { profiled } from './profile/cpu-profile.js';
import { startLoadServer, type LoadServer } from './server-rig.js';

export async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(250);
  }
}

export interface LoadSetup {
  readonly root: string;
  readonly server: LoadServer;
  readonly fleet: Fleet;
  readonly real: SwtpmAgents | undefined;
  readonly enrollSeconds: number;
  readonly connectSeconds: number;
  /** The server process's RSS just before the devices connected (after registering them), bytes. */
  readonly rssBeforeConnectBytes: number;
  stop(): Promise<void>;
}

/**
 * The rig both load benchmarks use: server, `devices` simulated devices
 * registered in the store and connected at `connectPerSecond`, every one
 * past its first (affirming) verdict, and `swtpm` real devices.
 */
export async function startLoad(options: {
  readonly name: string;
  readonly devices: number;
  readonly swtpm: number;
  readonly akKind: SimAkKind;
  readonly connectPerSecond: number;
  /** Each device's connection slot moves by up to ± this share of its width (default 0.5). */
  readonly connectJitter?: number;
  readonly config: Readonly<Record<string, unknown>>;
  readonly keyPool: number;
  readonly processes?: number;
  readonly log: (line: string) => void;
}): Promise<LoadSetup> {
  const root = await mkdtemp(join(tmpdir(), `vigil-bench-${options.name}-`));
  let server: LoadServer | undefined;
  let fleet: Fleet | undefined;
  let real: SwtpmAgents | undefined;
  const stop = async () => {
    await fleet?.stop();
    await real?.stop();
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    const bootImage = BootImage.load();
    if (options.swtpm > 0) real = await SwtpmAgents.prepare({ root: join(root, 'real'), count: options.swtpm, bootImage });
    server = await startLoadServer({ root, config: options.config, ...(real !== undefined ? { manufacturerCaPem: real.caPem } : {}) });
    const keys = await tlsKeyPool(Math.min(options.keyPool, options.devices));
    const t0 = performance.now();
    let lastReport = t0;
    const identities = await enrollSimDevices(server.store, server.ca, options.devices, 'sim', {
      keys,
      akKind: options.akKind,
      validityMs: 6 * 3_600_000,
      onEnrolled: (n) => {
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          options.log(`  ${n}/${options.devices} simulated devices registered\n`);
        }
      },
    });
    const enrollSeconds = (performance.now() - t0) / 1000;
    options.log(`  ${options.devices} SIMULATED devices (software ${options.akKind.toUpperCase()} AKs) registered in ${round(enrollSeconds)} s (store + fleet CA; TLS keys from a pool of ${keys.length})\n`);

    if (real !== undefined) {
      await real.startAgents({
        serverUrl: `mqtts://localhost:${server.port}`,
        caFile: server.paths.caCert,
        newToken: async () => {
          const token = generateEnrollmentToken();
          await server!.store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, deviceName: null, actor: 'bench' });
          return token;
        },
      });
    }

    fleet = await Fleet.start({ port: server.port, caPem: server.caPem, devices: identities, processes: options.processes ?? 1, models: modelRelease() });
    const rssBeforeConnectBytes = server.usage().rssBytes;
    const c0 = performance.now();
    const connected = await profiled('connect', () => fleet!.connect(options.connectPerSecond, options.connectJitter ?? 0.5));
    const connectSeconds = (performance.now() - c0) / 1000;
    if (connected.failed > 0) throw new Error(`${connected.failed} simulated devices could not connect: ${connected.firstError}`);
    const retries = (await fleet.snapshot()).connectRetries;
    options.log(`  ${connected.connected} connected in ${round(connectSeconds)} s (${options.connectPerSecond}/s, jittered${retries > 0 ? `; ${retries} attempts refused or timed out and retried` : ''})\n`);
    // Each device is challenged as it subscribes; its first evidence carries the whole boot log.
    await waitFor('every simulated device to answer its first challenge', 120_000 + options.devices * 20, async () => {
      const s = await fleet!.snapshot();
      return s.answered >= options.devices && s.unanswered === 0;
    });
    const first = await fleet.snapshot();
    const affirming = first.outcomes['affirming'] ?? 0;
    if (affirming < options.devices) throw new Error(`first verdicts were not all affirming: ${JSON.stringify(first.outcomes)}`);
    if (real !== undefined) {
      await real.waitAffirmed(180_000);
      options.log(`  ${real.count} REAL devices (swtpm + vigil-agent) enrolled through the registrar and affirmed\n`);
    }
    return { root, server, fleet, real, enrollSeconds, connectSeconds, rssBeforeConnectBytes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
