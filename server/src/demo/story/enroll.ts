import { join } from 'node:path';
import type { RunningServer } from '../../app/index.js';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import type { DemoDevice } from '../fleet/demo-device.js';
import { waitFor } from '../wait.js';
import { count, type Scene } from './scene.js';

/**
 * One `vigil-agent run` per device, its token in VIGIL_AGENT_TOKEN: each
 * enrolls (EK certificate chain, AK bound by MakeCredential, device
 * certificate), connects and is attested. Progress is read from the store,
 * never from the agents' output; every device must be affirming at its first
 * attestation (integrity only: no policy yet).
 */
export async function enrollFleet(scene: Scene, server: RunningServer, devices: readonly DemoDevice[], tokens: readonly string[]): Promise<void> {
  const { term, paths, names, signal } = scene;
  const serverUrl = `mqtts://localhost:${server.port}`;
  for (const device of devices) await device.writeAgentConfig(serverUrl, paths.caCert);
  term.command(`VIGIL_AGENT_TOKEN=… vigil-agent run --config ${join(scene.demoDir, names[0]!, 'agent.yaml')}   (one per device)`);
  await term.step(
    `${count(names.length, 'agent')} enrolled and attesting`,
    async (progress) => {
      for (const [i, device] of devices.entries()) {
        await device.startAgent(tokens[i]);
        scene.teardown.add(`stop ${device.name}'s agent`, () => device.stopAgent());
      }
      await waitFor(
        async () => {
          const rows = await Promise.all(devices.map((device) => server.context.store.getDevice(device.name)));
          for (const device of devices) await failIfAgentStuck(device);
          const enrolled = rows.filter((r) => r !== null).length;
          const attested = rows.filter((r) => r !== null && r.status !== 'none').length;
          progress(`${enrolled}/${devices.length} enrolled, ${attested}/${devices.length} attested`);
          return attested === devices.length ? true : undefined;
        },
        { signal, timeoutMs: 120_000, what: 'every device to enroll and attest', exitCode: ExitCode.Network, hint: () => logHint(devices) },
      );
      for (const device of devices) await failUnlessAffirming(server, device.name);
    },
    () => `${count(names.length, 'device')} enrolled: EK certificate checked, AK bound to the EK by MakeCredential, device certificate issued`,
  );
}

/** Ends the demo if the device's first verdict is not affirming, with its reasons. */
async function failUnlessAffirming(server: RunningServer, deviceId: string): Promise<void> {
  const [last] = await server.context.store.listAttestations(deviceId, 1);
  if (last?.status === 'affirming') return;
  const reasons = last?.reasons.map((r) => `\n  ${r.submodule}/${r.code}: ${r.message}`).join('') ?? '';
  throw new CliError(`${deviceId} is ${last?.status ?? 'not attested'} at its first attestation${reasons}`, ExitCode.Failed);
}

/** Ends the demo at once when an agent exited, or when the server refused its enrollment (the agent would only retry). */
async function failIfAgentStuck(device: DemoDevice): Promise<void> {
  const agent = device.agent;
  if (agent === undefined) return;
  const code = agent.exitCode();
  const tail = await agent.logTail(20);
  if (code !== undefined) {
    throw new CliError(`${device.name}'s agent exited (code ${code}) while enrolling; the end of ${device.layout.agentLog}:\n${tail}`, code === ExitCode.Tpm ? ExitCode.Tpm : ExitCode.Network);
  }
  for (const line of tail.split('\n')) {
    let entry: { msg?: unknown; failure?: unknown; err?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg === 'enrollment attempt failed; retrying' && entry.failure === 'refused') {
      throw new CliError(`the server refused ${device.name}'s enrollment: ${String(entry.err)} (${device.layout.agentLog})`, ExitCode.Network);
    }
  }
}

export function logHint(devices: readonly DemoDevice[]): string {
  return `logs: ${devices.map((d) => d.layout.agentLog).join(', ')}`;
}
