// Benchmark `replicas`: verdicts per second with 1, 2 and 3 verifier
// replicas (`vigil-server start` processes in external-broker mode) behind
// one Mosquitto, sharing one PostgreSQL, on this machine.
//
// The load: the fleet simulator (./fleet: software TPMs emitting genuine
// TPMS_ATTEST / TPMT_SIGNATURE, a boot log sent in full then by digest, a
// model measurement log) in its own load-generator process, in a closed
// loop — every device asks for its next challenge as soon as its verdict
// arrives — so the figure is the saturated rate of the whole path: request
// through the broker to one replica (shared subscription), challenge
// stored and published, evidence to one replica, challenge consumed, quote
// and logs checked, verdict stored and published. Replicas are added to the
// running fleet one at a time and then stopped one at a time (1, 2, 3, 3,
// 2, 1), each step measured over a window after a warm-up, so every count
// is measured early and late. The CPU time of every process (replicas,
// Mosquitto, PostgreSQL with its backends, the load generator) is read from
// /proc: on a 2-core machine they all share two cores, and more replicas
// cannot add CPU that is not there.
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { openPostgresStore } from '@vigil/server';
import { enrollSimDevices, Fleet, modelRelease, percentile, tlsKeyPool } from './fleet/index.js';
import { delay, round } from './load-window.js';
import type { Benchmark, BenchOptions } from './registry.js';
import { startScaleOutRig, type Replica } from './scale-out-rig.js';

export const replicasBenchmark: Benchmark = {
  description: 'verdicts per second with 1, 2 and 3 verifier replicas behind Mosquitto sharing PostgreSQL (closed-loop simulated fleet)',
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const deviceCount = options.quick ? 30 : 300;
    const warmupMs = options.quick ? 1500 : 5000;
    const windowMs = options.quick ? 3000 : 20_000;
    const names = ['r1', 'r2', 'r3'];
    const rig = await startScaleOutRig(names);
    const running: Replica[] = [];
    const rows: Array<Record<string, unknown>> = [];
    let fleet: Fleet | undefined;
    let revoked: Record<string, number> = {};
    try {
      // The fleet is enrolled before the first replica starts, which admits it at the broker when it connects.
      const store = await openPostgresStore(rig.storeUrl, { poolSize: 2 });
      const identities = await enrollSimDevices(store, rig.ca, deviceCount, 'rep', { keys: await tlsKeyPool(Math.min(deviceCount, 32)) }).finally(() => store.close());
      running.push(await rig.startReplica('r1'));
      await running[0]!.waitFor('device access at the broker reconciled');
      fleet = await Fleet.start({ port: rig.brokerPort, caPem: rig.ca.certificatePem, devices: identities, processes: 1, models: modelRelease() });
      const connected = await fleet.connect(200);
      if (connected.failed > 0) throw new Error(`${connected.failed} devices could not connect: ${connected.firstError ?? ''}`);
      fleet.setLoop(true);
      process.stdout.write(`  ${deviceCount} devices in a closed loop; window ${windowMs / 1000} s after ${warmupMs / 1000} s of warm-up per step\n`);

      for (const n of [1, 2, 3, 3, 2, 1]) {
        while (running.length < n) {
          running.push(await rig.startReplica(names[running.length]!));
          // Let the others hear of it (heartbeats) and the broker add it to the shared subscriptions.
          await delay(3000);
        }
        while (running.length > n) {
          // A stopping replica hands its share back to the broker first; the devices carry on.
          await running.pop()!.stop();
          await delay(3000);
        }
        await delay(warmupMs);
        const before = await fleet.snapshot(); // also clears the latencies so far
        const cpu0 = { replicas: running.map((r) => r.process.cpuSeconds()), postgres: rig.postgres.cpuSeconds(), mosquitto: rig.mosquitto.cpuSeconds() };
        const t0 = performance.now();
        await delay(windowMs);
        const after = await fleet.snapshot();
        const seconds = (performance.now() - t0) / 1000;
        const share = (cpuSeconds: number) => round((100 * cpuSeconds) / seconds);
        const verdicts = after.answered - before.answered;
        const row = {
          replicas: n,
          verdictsPerSecond: round(verdicts / seconds),
          latencyMs: { p50: round(percentile(after.latencies, 50)), p99: round(percentile(after.latencies, 99)) },
          outcomes: Object.fromEntries(Object.entries(after.outcomes).map(([k, v]) => [k, v - (before.outcomes[k] ?? 0)]).filter(([, v]) => (v as number) > 0)),
          cpuPercentOfOneCore: {
            replicas: running.map((r, i) => share(r.process.cpuSeconds() - cpu0.replicas[i]!)),
            postgres: share(rig.postgres.cpuSeconds() - cpu0.postgres),
            mosquitto: share(rig.mosquitto.cpuSeconds() - cpu0.mosquitto),
            loadGenerator: share((after.loadCpuMs - before.loadCpuMs) / 1000),
          },
          loadAverage: loadavg().map((x) => round(x, 2)),
        };
        // CPU time per verdict (ms): what other load on the machine moves least, and what sizing needs.
        const perVerdict = (percent: number) => round((10 * percent) / Math.max(row.verdictsPerSecond, 1e-9), 2);
        const c0 = row.cpuPercentOfOneCore;
        Object.assign(row, {
          cpuMsPerVerdict: {
            replicas: perVerdict(c0.replicas.reduce((a, b) => a + b, 0)),
            postgres: perVerdict(c0.postgres),
            mosquitto: perVerdict(c0.mosquitto),
            loadGenerator: perVerdict(c0.loadGenerator),
          },
        });
        rows.push(row);
        const c = row.cpuPercentOfOneCore;
        process.stdout.write(
          `  ${n} replica${n === 1 ? ' ' : 's'} (load ${row.loadAverage[0]}): ${row.verdictsPerSecond} verdicts/s, evidence→verdict p50 ${row.latencyMs.p50} ms p99 ${row.latencyMs.p99} ms; ` +
            `CPU % of one core: replicas ${c.replicas.join(' + ')}, PostgreSQL ${c.postgres}, Mosquitto ${c.mosquitto}, load generator ${c.loadGenerator}\n`,
        );
      }
      // An honest fleet is never revoked: if some device was, say why (the revocation message names the reasons).
      const audit = await openPostgresStore(rig.storeUrl, { poolSize: 1 });
      try {
        const revocations = await audit.listRevocations();
        const why = new Map<string, number>();
        for (const r of revocations) why.set(r.message ?? r.reason, (why.get(r.message ?? r.reason) ?? 0) + 1);
        revoked = Object.fromEntries(why);
        if (revocations.length > 0) process.stdout.write(`  devices revoked during the run: ${revocations.length} (${[...why].map(([m, n]) => `${n} × ${m}`).join('; ')})\n`);
      } finally {
        await audit.close();
      }
    } finally {
      await fleet?.stop();
      for (const r of running) await r.stop();
      await rig.stop();
    }
    const byReplicas = [1, 2, 3].map((n) => {
      const samples = rows.filter((r) => r['replicas'] === n).map((r) => r['verdictsPerSecond'] as number);
      return { replicas: n, verdictsPerSecond: samples, mean: round(samples.reduce((a, b) => a + b, 0) / samples.length) };
    });
    process.stdout.write(`  mean verdicts/s: ${byReplicas.map((b) => `${b.replicas} replica${b.replicas === 1 ? '' : 's'} ${b.mean}`).join(', ')}\n`);
    return { devices: deviceCount, warmupSeconds: warmupMs / 1000, windowSeconds: windowMs / 1000, cores: cpus().length, postgresDurability: 'fsync on (defaults)', byReplicas, rows, revoked };
  },
};
