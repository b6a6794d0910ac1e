// Benchmark `tamper`: how long from one byte of a watched model file
// changing to the device being cut off, p50/p99 over N runs (20; 1 with
// --quick). Each run is a new device: a freshly manufactured swtpm (new
// EK), the built `vigil-agent run` enrolling with a token, affirming under
// a fleet policy that allows the model's digest; then one byte of the model
// is flipped and the clock runs until the server closes the device's
// session (broker log "session closed by server", reason revoked). The
// stages come from the agent's and the server's log timestamps (one clock):
// write → re-measured (watcher debounce + hash + PCR extend) → verdict on
// the agent → session closed.
import { readFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTpmFactory, percentile, sleep, startAgentProcess, startBenchServer, timeOf, type BenchServer, type LogLine } from './agent-rig.js';
import type { Benchmark, BenchOptions } from './registry.js';

interface RunTimes {
  readonly measuredMs: number;
  readonly verdictMs: number;
  readonly disconnectMs: number;
}

function summary(values: readonly number[]): { p50: number; p99: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0]!, max: sorted.at(-1)! };
}

export const tamperBenchmark: Benchmark = {
  description: 'model tamper to disconnect: one byte of a watched model changed → device contraindicated and its session closed (p50/p99)',
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const runs = options.quick ? 1 : 20;
    const root = await mkdtemp(join(tmpdir(), 'vigil-bench-tamper-'));
    let server: BenchServer | undefined;
    const factory = await makeTpmFactory(root);
    const models = join(root, 'models');
    const model = join(models, 'detector.onnx');
    const original = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < original.length; i += 4096) original.writeUInt32BE(i, i);
    await mkdir(models, { recursive: true });
    await writeFile(model, original);
    const times: RunTimes[] = [];
    try {
      // The first TPM creates the CA the server must trust.
      let tpm = await factory.manufacture('run-0');
      server = await startBenchServer(root, await factory.caPem(), { 'attestation.intervalSeconds': 3600 });
      const store = server.running.context.store;
      const digest = createHash('sha256').update(original).digest('hex');
      await store.createPolicyVersion({ name: 'bench-models', document: { v: 1, models: { allowed: { [model]: [digest] }, fleetAllowlist: false } }, actor: 'bench' });
      await store.assignPolicy({ target: { kind: 'all' }, policyName: 'bench-models', actor: 'bench' });
      // The verifier re-reads policies from the store every 5 s (changes through its admin API apply at once).
      await sleep(6000);

      for (let i = 0; i < runs; i++) {
        if (i > 0) tpm = await factory.manufacture(`run-${i}`);
        await writeFile(model, original);
        const agent = startAgentProcess([
          '--server',
          server.url,
          '--ca',
          server.paths.caCert,
          '--tpm',
          tpm.uri,
          '--state',
          join(root, `state-${i}`),
          '--model',
          models,
          '--eventlog',
          join(root, 'no-event-log'),
          '--ima-log',
          join(root, 'no-ima'),
          '--token',
          await server.newToken(),
        ]);
        try {
          await agent.logs.waitFor((l) => l.msg === 'verdict' && l.status === 'affirming', 120_000, 'an affirming verdict');
          const identity = await agent.logs.waitFor((l) => l.msg === 'device identity loaded');
          const deviceId = String(identity.deviceId);
          const bytes = await readFile(model);
          bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
          const writtenAt = Date.now();
          await writeFile(model, bytes);
          const after = (match: (l: LogLine) => boolean) => (l: LogLine) => timeOf(l) >= writtenAt && match(l);
          const closed = await server.logs.waitFor(after((l) => l.msg === 'session closed by server' && l.reason === 'revoked' && l.deviceId === deviceId), 60_000, 'the session closed');
          const measured = await agent.logs.waitFor(after((l) => l.msg === 'model files changed and re-measured'), 10_000, 'the re-measurement');
          const verdict = await agent.logs.waitFor(after((l) => l.msg === 'verdict' && l.status === 'contraindicated'), 10_000, 'the verdict');
          const attestation = (await store.listAttestations(deviceId, 1))[0];
          if (attestation?.policy?.name !== 'bench-models') throw new Error(`the tampered evidence was not appraised under the bench policy (${attestation?.policy?.name ?? 'none'})`);
          const t: RunTimes = { measuredMs: timeOf(measured) - writtenAt, verdictMs: timeOf(verdict) - writtenAt, disconnectMs: timeOf(closed) - writtenAt };
          times.push(t);
          const code = await agent.exited;
          process.stdout.write(`  run ${i + 1}/${runs}: re-measured ${t.measuredMs} ms, verdict ${t.verdictMs} ms, disconnected ${t.disconnectMs} ms (agent exit ${code})\n`);
        } catch (err) {
          process.stderr.write(`agent log tail:\n${agent.logs.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\n`);
          throw err;
        } finally {
          await agent.stop();
          await tpm.stop();
        }
      }
      const result = {
        runs,
        modelBytes: original.length,
        watchDebounceMs: 100,
        writeToRemeasuredMs: summary(times.map((t) => t.measuredMs)),
        writeToVerdictMs: summary(times.map((t) => t.verdictMs)),
        writeToDisconnectMs: summary(times.map((t) => t.disconnectMs)),
      };
      process.stdout.write(`  write → disconnect: p50 ${result.writeToDisconnectMs.p50} ms, p99 ${result.writeToDisconnectMs.p99} ms (${runs} runs)\n`);
      return result;
    } finally {
      await server?.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
