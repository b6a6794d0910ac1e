import { CliError, ExitCode } from '../../cli/exit-codes.js';
import { serverCli } from '../server-cli.js';
import { dataFlag, type Scene } from './scene.js';

/** The policy the demo captures from the first device and assigns to the fleet. */
export const DEMO_POLICY = 'fleet-golden';

/**
 * Golden values from the reference device (its last verified evidence:
 * PCRs, boot applications, secure boot state, model digests), assigned to
 * the whole fleet; then every device attested now, under that policy: each
 * must be affirming.
 */
export async function adoptGoldenValues(scene: Scene): Promise<void> {
  const { term, paths, names, signal } = scene;
  const reference = names[0]!;
  term.command(`vigil-server policy capture ${dataFlag(scene)} --from-device ${reference} --name ${DEMO_POLICY}`);
  const captured = await serverCli(['policy', 'capture', '--data', paths.root, '--from-device', reference, '--name', DEMO_POLICY], signal);
  term.line(`  ${captured.trim().replace(/ \(assign it with.*\)$/, '')}`);
  term.command(`vigil-server policy assign ${DEMO_POLICY} --all ${dataFlag(scene)}`);
  term.line(`  ${(await serverCli(['policy', 'assign', DEMO_POLICY, '--all', '--data', paths.root], signal)).trim()}`);

  term.command(`vigil-server attest ${names[0]} ${dataFlag(scene)}${names.length > 1 ? '   (each device)' : ''}`);
  await term.step(`every device affirming under ${DEMO_POLICY}`, async () => {
    const results = await Promise.all(names.map((name) => serverCli(['attest', name, '--data', paths.root], signal).catch((err: unknown) => err as Error)));
    const failures = results.filter((r): r is Error => r instanceof Error);
    if (failures.length > 0) throw new CliError(`not every device is affirming:\n${failures.map((f) => f.message).join('\n')}`, ExitCode.Failed);
  });
}
