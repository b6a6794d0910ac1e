import type { RunningServer } from '../../app/index.js';
import { fleetRows, renderFleetTable } from '../view/fleet-table.js';
import { sleep } from '../wait.js';
import type { Scene } from './scene.js';

/** The fleet table as the server sees it now (store and broker). */
export async function fleetTable(scene: Scene, server: RunningServer): Promise<string[]> {
  return renderFleetTable(await fleetRows(server.context.store, server.context.broker, scene.names), scene.term.paint);
}

/**
 * Shows the fleet table; on a terminal it is redrawn in place every
 * `everyMs` for `frames` frames (devices keep being challenged meanwhile),
 * `Infinity` meaning until the demo is interrupted. Without a terminal it is
 * printed once.
 */
export async function showFleet(scene: Scene, server: RunningServer, options: { readonly frames: number; readonly everyMs: number }): Promise<void> {
  const { term, signal } = scene;
  term.frame(await fleetTable(scene, server));
  if (!term.options.interactive) return;
  for (let i = 1; i < options.frames && !signal.aborted; i++) {
    await sleep(options.everyMs, signal).catch(() => undefined);
    if (!signal.aborted) term.frame(await fleetTable(scene, server));
  }
}
