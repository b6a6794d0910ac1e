// Benchmark `enroll`: how fast the registrar enrolls devices, end to end
// over mutual-TLS MQTT (bootstrap connection, request → MakeCredential →
// ActivateCredential → proof → device certificate issued and stored).
//
// - Real devices: swtpm instances (manufactured before the clock starts,
//   each with its own EK certificate from a local CA) enrolled by the
//   agent's own `enroll` (@vigil/agent, in this process): bootstrap key,
//   EK and AK created in the TPM, ActivateCredential in the TPM. One at a
//   time, then several at once.
// - SIMULATED devices: software TPMs (ECC P-256 EK certified by a simulated
//   manufacturer CA, ECC AK; `bench/src/fleet`) enrolling through the same
//   registrar with the same messages, N at once; their TLS keys come from
//   the pool (RSA-2048 key generation is not what is measured).
//
// The server allows more bootstrap connections per IP address than its
// default (60 a minute): every simulated device connects from 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { enroll } from '@vigil/agent';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '@vigil/server';
import { manufactureTpm, startSimulator, SwtpmManufacturer, type SwtpmSimulator } from '@vigil/tpm2-ts/simulator';
import { enrollThroughRegistrar, percentile, prepareEnrollee, SimManufacturer, tlsKeyPool } from './fleet/index.js';
import { round } from './load-window.js';
import { numberArg, type Benchmark, type BenchOptions } from './registry.js';
import { startLoadServer } from './server-rig.js';

interface Batch {
  readonly devices: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly serverCpuMsPerEnrollment: number;
}

async function newToken(store: Store, uses: number): Promise<string> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: uses, expiresAt: Date.now() + 3_600_000, deviceName: null, actor: 'bench' });
  return token;
}

/** Runs `total` enrollments, `concurrency` at a time; times each and the whole. */
async function timed(total: number, concurrency: number, usage: () => { cpuMs: number }, one: (i: number) => Promise<void>): Promise<Batch> {
  const times: number[] = [];
  const cpu0 = usage().cpuMs;
  const t0 = performance.now();
  // Striped, not taken from a shared counter: worker w runs i = w, w + c, w + 2c, ... in turn. Devices that
  // share a bootstrap key (i mod the key pool) then never enroll at once, since a worker runs one at a time;
  // with a shared counter a slow device let a later one with its key start beside it, and the broker, seeing
  // the same MQTT client id twice, closed the first (a CI run under load, 2026-11-30).
  const workers = Math.min(concurrency, total);
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = w; i < total; i += workers) {
        const s = performance.now();
        await one(i);
        times.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    devices: total,
    concurrency,
    seconds: round(seconds, 2),
    perSecond: round(total / seconds, 1),
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    maxMs: round(times.at(-1) ?? Number.NaN),
    // The whole process: the server, plus the agent's TPM client for real devices or the software TPMs for simulated ones.
    serverCpuMsPerEnrollment: round((usage().cpuMs - cpu0) / total, 1),
  };
}

function line(label: string, b: Batch): string {
  return `${label.padEnd(40)} ${String(b.perSecond).padStart(7)} enrollments/s  p50 ${b.p50Ms} ms  p99 ${b.p99Ms} ms  (${b.devices} devices, ${b.concurrency} at once, ${b.seconds} s; ${b.serverCpuMsPerEnrollment} ms CPU each in this process)\n`;
}

export const enrollBenchmark: Benchmark = {
  description: 'enrollment rate through the registrar: real swtpm devices (the agent enrolling) and simulated ones, one at a time and concurrently',
  options: {
    swtpm: 'real devices (default 8)',
    simulated: 'simulated devices (default 600)',
    concurrency: 'simulated enrollments at once (default 32; at most the TLS key pool of 64)',
  },
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const log = (s: string) => process.stdout.write(s);
    const realCount = numberArg(options, 'swtpm', options.quick ? 2 : 8);
    const simCount = numberArg(options, 'simulated', options.quick ? 10 : 600);
    const concurrency = Math.min(64, numberArg(options, 'concurrency', options.quick ? 4 : 32));
    log(`  load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
    const root = await mkdtemp(join(tmpdir(), 'vigil-bench-enroll-'));
    const tpms: SwtpmSimulator[] = [];
    let server: Awaited<ReturnType<typeof startLoadServer>> | undefined;
    try {
      // Real TPMs are manufactured (swtpm_setup: EK, EK certificate) before anything is timed: a factory's work.
      const swtpmMaker = await SwtpmManufacturer.open(join(root, 'swtpm-manufacturer'));
      const realTpms: Array<{ stateDir: string }> = [];
      for (let i = 0; i < realCount; i++) realTpms.push(await manufactureTpm({ stateDir: join(root, `tpm-${i}`), manufacturer: swtpmMaker }));
      // swtpm_localca makes its CA with the first TPM: without real devices there is none to trust.
      const swtpmCa = realCount > 0 ? await swtpmMaker.certificates() : { rootPem: '', issuerPem: '' };
      const simMaker = await SimManufacturer.create();
      server = await startLoadServer({
        root,
        manufacturerCaPem: swtpmCa.rootPem + swtpmCa.issuerPem + simMaker.certificatePem,
        config: { 'limits.bootstrapConnectionsPerMinute': 1_000_000, 'attestation.intervalSeconds': 3600 },
      });
      const s = server;
      const url = `mqtts://localhost:${s.port}`;
      for (const t of realTpms) tpms.push(await startSimulator({ stateDir: t.stateDir, runDir: await mkdtemp(join(tmpdir(), 'vigil-enroll-tpm-')) }));

      // Real devices: the agent's enroll (RSA-2048 bootstrap key, EK and AK in the TPM, ActivateCredential in the TPM).
      const realOne = async (i: number) => {
        await enroll({ server: url, caPem: s.caPem, token: await newToken(s.store, 1), tpmUri: tpms[i]!.uri, stateDir: join(root, `agent-${i}`), akKind: 'rsa' });
      };
      // Half one at a time (at least one), the rest all at once; `--swtpm 0` leaves real devices out.
      const realHalf = Math.min(realCount, Math.max(1, Math.floor(realCount / 2)));
      const realSerial = realHalf > 0 ? await timed(realHalf, 1, () => s.usage(), realOne) : undefined;
      if (realSerial !== undefined) log(line('real (swtpm + agent), one at a time', realSerial));
      const realParallel =
        realCount - realHalf > 0 ? await timed(realCount - realHalf, realCount - realHalf, () => s.usage(), (i) => realOne(realHalf + i)) : undefined;
      if (realParallel !== undefined) log(line('real (swtpm + agent), all at once', realParallel));

      // Simulated devices.
      const keys = await tlsKeyPool(Math.min(64, Math.max(concurrency, 1)));
      const serialCount = Math.min(simCount, options.quick ? 3 : 50);
      const token = await newToken(s.store, serialCount + simCount);
      // The factory's and the device's own work (EK certificate, bootstrap certificate) is done before the clock starts, as for real TPMs.
      // Devices enrolling at the same moment need distinct keys (the bootstrap id, the MQTT client id, is the key's hash): device i uses key
      // i mod pool, and the pool is at least the concurrency, so the devices `timed`'s workers run at once (one per stripe) never share one.
      const enrollees = await Promise.all(Array.from({ length: serialCount + simCount }, (_, i) => prepareEnrollee({ keyPem: keys[i % keys.length]!, manufacturer: simMaker })));
      const simOne = (i: number) => enrollThroughRegistrar({ port: s.port, caPem: s.caPem, token, enrollee: enrollees[i]! }).then(() => undefined);
      const simSerial = await timed(serialCount, 1, () => s.usage(), simOne);
      log(line('SIMULATED, one at a time', simSerial));
      const simParallel = await timed(simCount, concurrency, () => s.usage(), (i) => simOne(serialCount + i));
      log(line(`SIMULATED, ${concurrency} at once`, simParallel));

      const enrolled = (await s.store.listDevices()).length;
      const expected = realCount + simSerial.devices + simParallel.devices;
      if (enrolled !== expected) throw new Error(`the store holds ${enrolled} devices, ${expected} enrollments were made`);
      const result = {
        real: { serial: realSerial ?? null, parallel: realParallel ?? null },
        simulated: { serial: simSerial, parallel: simParallel },
        devices_in_store: enrolled,
        real_ak: 'rsa',
        simulated_ak: 'ecc',
      };
      log(`enroll: real ${realSerial?.perSecond ?? '-'}/s one at a time; SIMULATED ${simParallel.perSecond}/s with ${concurrency} at once (p99 ${simParallel.p99Ms} ms)\n`);
      return result;
    } finally {
      await server?.stop();
      for (const t of tpms) await t.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
