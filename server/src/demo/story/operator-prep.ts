import { join } from 'node:path';
import type { DemoDevice } from '../fleet/demo-device.js';
import { MODEL_FILES } from '../fleet/model-folder.js';
import { serverCli } from '../server-cli.js';
import { count, dataFlag, type Scene } from './scene.js';

/**
 * What an operator prepares before devices are deployed, through the admin
 * API like any operator: one enrollment token per device (fixing its name),
 * and the model release on the fleet allowlist, by file name since every
 * demo device keeps the same release in a folder of its own. Returns the
 * tokens, in device order.
 */
export async function prepareEnrollment(scene: Scene, devices: readonly DemoDevice[]): Promise<string[]> {
  const { term, paths, names, signal } = scene;
  const release = devices[0]!.layout.models;
  const others = names.length > 1 ? `   (and ${names.slice(1).join(', ')})` : '';
  term.command(`vigil-server token create ${dataFlag(scene)} --device-name ${names[0]} --ttl 1h --label "vigil demo"${others}`);
  for (const file of MODEL_FILES) term.command(`vigil-server models allow ${file} ${join(release, file)} --note "demo model release" ${dataFlag(scene)}`);
  return term.step(
    'tokens and model allowlist',
    async () => {
      const [tokens] = await Promise.all([
        Promise.all(names.map(async (name) => (await serverCli(['token', 'create', '--data', paths.root, '--device-name', name, '--ttl', '1h', '--label', 'vigil demo'], signal)).trim())),
        Promise.all(MODEL_FILES.map((file) => serverCli(['models', 'allow', file, join(release, file), '--note', 'demo model release', '--data', paths.root], signal))),
      ]);
      return tokens;
    },
    () => `${count(names.length, 'enrollment token')} created (one use each); the model release (${MODEL_FILES.join(', ')}) allowed fleet-wide`,
  );
}
