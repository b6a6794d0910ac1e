// Benchmark `agent`: what the device agent costs the device. The built
// `vigil-agent run` as its own process with a real swtpm and the real
// server in-process, measured from /proc/<pid>/stat (user + system CPU
// time) and /proc/<pid>/status (VmRSS, VmHWM):
//   1. idle-connected: enrolled, models measured, one verdict received,
//      then nothing but MQTT keep-alives and the TPM health poll
//      (server challenge interval 1 h);
//   2. busy: the server restarted with a challenge every second, so the
//      agent quotes, reads its logs, builds, sends and receives a verdict
//      once per second.
// Two configurations: the packaged agent (the esbuild bundle from
// agent/scripts/bundle.mjs under the unit's node flags and environment)
// and the tsc output under node's defaults.
// Targets (issue 6): RSS under 60 MB, idle CPU under 1 %.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAgent, makeTpmFactory, PACKAGED_NODE_FLAGS, sampleProcess, sleep, startAgentProcess, startBenchServer, timeOf, type BenchServer, type ProcSample } from './agent-rig.js';
import type { Benchmark, BenchOptions } from './registry.js';

const MiB = 1024 * 1024;

interface Window {
  readonly seconds: number;
  readonly cpuPercent: number;
  readonly rssMeanMiB: number;
  readonly rssMaxMiB: number;
  readonly verdicts: number;
}

/** Samples the process every second for `seconds`; CPU % from the CPU time used over the wall time. */
async function measureWindow(pid: number, seconds: number, countVerdicts: () => number): Promise<Window> {
  const first = await sampleProcess(pid);
  const verdictsBefore = countVerdicts();
  const samples: ProcSample[] = [first];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    samples.push(await sampleProcess(pid));
  }
  const last = samples.at(-1)!;
  const rss = samples.map((s) => s.rssBytes / MiB);
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    seconds: round((last.at - first.at) / 1000, 1),
    cpuPercent: round(((last.cpuMs - first.cpuMs) / (last.at - first.at)) * 100, 3),
    rssMeanMiB: round(rss.reduce((a, b) => a + b, 0) / rss.length, 1),
    rssMaxMiB: round(Math.max(...rss), 1),
    verdicts: countVerdicts() - verdictsBefore,
  };
}

interface ConfigResult {
  readonly entryPoint: 'bundle' | 'tsc-output';
  readonly nodeFlags: readonly string[];
  readonly idle: Window;
  readonly oneChallengePerSecond: Window;
  readonly peakRssMiB: number;
}

export const agentFootprintBenchmark: Benchmark = {
  description: 'device agent RSS and CPU (from /proc) idle-connected and answering one challenge per second; real swtpm and server',
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const seconds = options.quick ? 5 : 60;
    const root = await mkdtemp(join(tmpdir(), 'vigil-bench-agent-'));
    let server: BenchServer | undefined;
    const factory = await makeTpmFactory(root);
    const tpm = await factory.manufacture('device');
    const models = join(root, 'models');
    await mkdir(models, { recursive: true });
    // A small model set: the footprint of watching and attesting, not of hashing gigabytes (see `hash`).
    for (let i = 0; i < 8; i++) await writeFile(join(models, `shard-${i}.bin`), Buffer.alloc(4 * MiB, i));
    const quiet = { 'attestation.intervalSeconds': 3600, 'attestation.jitterPercent': 0 };
    const everySecond = { 'attestation.intervalSeconds': 1, 'attestation.jitterPercent': 0, 'attestation.challengeTtlSeconds': 5 };
    let port = 0;
    const restart = async (config: Record<string, unknown>) => {
      if (server) {
        port = Number(new URL(server.url.replace('mqtts:', 'https:')).port);
        await server.stop();
      }
      server = await startBenchServer(root, await factory.caPem(), config, port);
    };

    /** One agent process under `nodeFlags`: idle window, then (server restarted) one challenge per second. */
    const measure = async (nodeFlags: readonly string[], token: string | undefined, bundle?: string): Promise<ConfigResult> => {
      await restart(quiet);
      const agent = startAgentProcess(
        [
          '--server', server!.url, '--ca', server!.paths.caCert, '--tpm', tpm.uri, '--state', join(root, 'agent-state'), '--model', models,
          '--eventlog', join(root, 'no-event-log'), '--ima-log', join(root, 'no-ima'), '--reconnect-initial-delay-ms', '200',
          ...(token ? ['--token', token] : []),
        ],
        nodeFlags,
        bundle,
      );
      const verdicts = () => agent.logs.lines.filter((l) => l.msg === 'verdict').length;
      const label = `${bundle ? 'bundle' : 'tsc output'}, ${nodeFlags.length ? `node ${nodeFlags.join(' ')}` : 'node defaults'}`;
      try {
        await agent.logs.waitFor((l) => l.msg === 'verdict' && l.status === 'affirming', 120_000, 'the first affirming verdict');
        // Idle begins when start-up work is over: V8's memory reducer collects and shrinks the heap ~8 s after the
        // allocation rate drops, so a window opened sooner would count start-up garbage (enrollment, first hashing)
        // as idle memory. That peak is reported on its own (peakRssMiB, VmHWM).
        await sleep(10_000);
        process.stdout.write(`  [${label}] idle-connected for ${seconds} s ...\n`);
        const idle = await measureWindow(agent.child.pid!, seconds, verdicts);
        process.stdout.write(`  [${label}] idle:  CPU ${idle.cpuPercent} %, RSS mean ${idle.rssMeanMiB} MiB, max ${idle.rssMaxMiB} MiB\n`);
        const restartedAt = Date.now();
        await restart(everySecond); // same data directory and port: the agent reconnects on its own
        await agent.logs.waitFor((l) => l.msg === 'verdict' && timeOf(l) >= restartedAt, 120_000, 'a verdict after the restart');
        await sleep(2000);
        const busy = await measureWindow(agent.child.pid!, seconds, verdicts);
        process.stdout.write(`  [${label}] one challenge per second: CPU ${busy.cpuPercent} %, RSS mean ${busy.rssMeanMiB} MiB, max ${busy.rssMaxMiB} MiB, ${busy.verdicts} verdicts in ${busy.seconds} s\n`);
        const peak = await sampleProcess(agent.child.pid!);
        const peakRssMiB = Math.round((peak.hwmBytes / MiB) * 10) / 10;
        process.stdout.write(`  [${label}] peak RSS over the run (VmHWM, includes start-up hashing): ${peakRssMiB} MiB\n`);
        return { entryPoint: bundle ? 'bundle' : 'tsc-output', nodeFlags, idle, oneChallengePerSecond: busy, peakRssMiB };
      } finally {
        await agent.stop();
      }
    };

    try {
      await restart(quiet);
      const packaged = await measure(PACKAGED_NODE_FLAGS, await server!.newToken(), await bundleAgent());
      const defaults = await measure([], undefined); // same device, enrolled: no token needed
      const targets = {
        rssUnder60MiB: Math.max(packaged.idle.rssMaxMiB, packaged.oneChallengePerSecond.rssMaxMiB) < 60,
        idleCpuUnder1Percent: packaged.idle.cpuPercent < 1,
      };
      process.stdout.write(`  targets (packaged flags): RSS < 60 MiB ${targets.rssUnder60MiB ? 'met' : 'MISSED'}, idle CPU < 1 % ${targets.idleCpuUnder1Percent ? 'met' : 'MISSED'}\n`);
      return { windowSeconds: seconds, modelFiles: 8, modelBytes: 8 * 4 * MiB, packaged, nodeDefaults: defaults, targets };
    } finally {
      await server?.stop();
      await tpm.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
