// Benchmark `replicas`: verdicts per second with 1, 2 and 3 verifier
// replicas (`vigil-server start` processes in external-broker mode) behind
// one Mosquitto, sharing one PostgreSQL, on this machine.
//
// The load: simulated devices (software ECDSA P-256 AKs, genuine
// TPMS_ATTEST / TPMT_SIGNATURE structures, bench/src/scale-out-rig.ts) in a
// closed loop — ask for a challenge, answer it, on the verdict ask again —
// so the figure is the saturated rate of the whole path: request through
// the broker to one replica (shared subscription), challenge stored and
// published, evidence to one replica, challenge consumed, quote checked,
// verdict stored and published. Replicas are added one at a time to the
// same running fleet; each step is measured over a window after a warm-up.
// The CPU time of every process (replicas, Mosquitto, PostgreSQL with its
// backends, this load generator) is read from /proc, so the result says
// where the cores went: on a 2-core machine everything shares two cores,
// and more replicas cannot add CPU that is not there.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Benchmark, BenchOptions } from './registry.js';
import { startScaleOutRig, type Replica, type SimulatedDevice } from './scale-out-rig.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function connectAll(devices: readonly SimulatedDevice[], port: number, caPem: string): Promise<void> {
  for (let i = 0; i < devices.length; i += 25) {
    await Promise.all(
      devices.slice(i, i + 25).map(async (d) => {
        // The first replica admits the fleet at the broker when it connects: retry until the device's topics are its own.
        for (let attempt = 0; ; attempt++) {
          try {
            await d.connect(port, caPem);
            return;
          } catch (err) {
            if (attempt > 100) throw err;
            await delay(200);
          }
        }
      }),
    );
  }
}

export const replicasBenchmark: Benchmark = {
  description: 'verdicts per second with 1, 2 and 3 verifier replicas behind Mosquitto sharing PostgreSQL (closed-loop simulated devices)',
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const deviceCount = options.quick ? 30 : 300;
    const warmupMs = options.quick ? 1500 : 5000;
    const windowMs = options.quick ? 3000 : 20_000;
    const names = ['r1', 'r2', 'r3'];
    const { rig, devices } = await startScaleOutRig(names, deviceCount);
    const running: Replica[] = [];
    const rows: Array<Record<string, unknown>> = [];
    try {
      running.push(await rig.startReplica('r1'));
      await connectAll(devices, rig.brokerPort, rig.ca.certificatePem);
      for (const d of devices) d.start();
      process.stdout.write(`  ${deviceCount} devices in a closed loop; window ${windowMs / 1000} s after ${warmupMs / 1000} s of warm-up per step\n`);
      for (let n = 1; n <= names.length; n++) {
        if (n > 1) {
          running.push(await rig.startReplica(names[n - 1]!));
          // Let the others hear of it (heartbeats) and the broker add it to the shared subscriptions.
          await delay(3000);
        }
        await delay(warmupMs);
        const cpu0 = { replicas: running.map((r) => r.process.cpuSeconds()), postgres: rig.postgres.cpuSeconds(), mosquitto: rig.mosquitto.cpuSeconds(), generator: process.cpuUsage() };
        const t0 = performance.now();
        await delay(windowMs);
        const t1 = performance.now();
        const seconds = (t1 - t0) / 1000;
        const cpuShare = (s: number) => round((100 * s) / seconds);
        const generatorCpu = process.cpuUsage(cpu0.generator);
        const inWindow = devices.flatMap((d) => d.verdicts.filter((v) => v.at >= t0 && v.at < t1));
        const verdicts = inWindow.filter((v) => v.status === 'verdict');
        const latencies = verdicts.map((v) => v.latencyMs).sort((a, b) => a - b);
        const row = {
          replicas: n,
          verdictsPerSecond: round(verdicts.length / seconds),
          errorsPerSecond: round((inWindow.length - verdicts.length) / seconds),
          latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
          cpuPercentOfOneCore: {
            replicas: running.map((r, i) => cpuShare(r.process.cpuSeconds() - cpu0.replicas[i]!)),
            postgres: cpuShare(rig.postgres.cpuSeconds() - cpu0.postgres),
            mosquitto: cpuShare(rig.mosquitto.cpuSeconds() - cpu0.mosquitto),
            loadGenerator: cpuShare((generatorCpu.user + generatorCpu.system) / 1e6),
          },
        };
        rows.push(row);
        process.stdout.write(
          `  ${n} replica${n === 1 ? ' ' : 's'}: ${row.verdictsPerSecond} verdicts/s (p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms); ` +
            `CPU % of one core: replicas ${row.cpuPercentOfOneCore.replicas.join(' + ')}, PostgreSQL ${row.cpuPercentOfOneCore.postgres}, ` +
            `Mosquitto ${row.cpuPercentOfOneCore.mosquitto}, load generator ${row.cpuPercentOfOneCore.loadGenerator}\n`,
        );
      }
    } finally {
      for (const d of devices) d.close();
      await rig.stop();
    }
    return { devices: deviceCount, warmupSeconds: warmupMs / 1000, windowSeconds: windowMs / 1000, cores: cpus().length, postgresDurability: 'fsync on (defaults)', rows };
  },
};
