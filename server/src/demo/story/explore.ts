import { join } from 'node:path';
import type { RunningServer } from '../../app/index.js';
import type { DemoDevice } from '../fleet/demo-device.js';
import { showFleet } from './fleet-view.js';
import { DEMO_POLICY } from './golden-values.js';
import { dataFlag, type Scene } from './scene.js';

/** `--keep`: how to look around, then the live fleet table until Ctrl-C or SIGTERM. */
export async function keepExploring(scene: Scene, server: RunningServer, victim: DemoDevice): Promise<void> {
  const { term, paths, names, signal } = scene;
  const d = dataFlag(scene);
  term.line(term.paint.bold('The fleet keeps running; Ctrl-C stops it. From another terminal, in this repository:'));
  for (const c of [
    `npx vigil-server devices list ${d}`,
    `npx vigil-server device show ${victim.name} ${d}`,
    `npx vigil-server attestations ${names[0]} ${d}`,
    `npx vigil-server policy show ${DEMO_POLICY} ${d}`,
    `npx vigil-server audit verify ${d}`,
    `npx vigil-agent status --state ${victim.layout.agentState}`,
  ]) {
    term.line(`  ${c}`);
  }
  term.line(term.paint.dim(`  broker mqtts://localhost:${server.port} (fleet CA ${paths.caCert}); logs: ${join(scene.demoDir, 'server.log')}, ${join(scene.demoDir, '<device>', 'agent.log')}`));
  term.line();
  await showFleet(scene, server, { frames: Infinity, everyMs: 1000 });
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
