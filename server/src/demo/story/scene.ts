import type { DataDir } from '../../datadir.js';
import type { Teardown } from '../teardown.js';
import type { Terminal } from '../view/terminal.js';

/** What every step of the demo's story works with. */
export interface Scene {
  readonly term: Terminal;
  /** The server's data directory. */
  readonly paths: DataDir;
  /** `DIR/demo`: the devices, the manufacturer CA, the server log. */
  readonly demoDir: string;
  /** Device names, `edge-01` first (the reference device); the last is tampered with. */
  readonly names: readonly string[];
  /** Aborted by Ctrl-C or SIGTERM. */
  readonly signal: AbortSignal;
  /** Everything started is registered here to be stopped. */
  readonly teardown: Teardown;
}

/** `--data DIR`, as the commands the demo prints show it. */
export function dataFlag(scene: Scene): string {
  return `--data ${scene.paths.root}`;
}

/** `3 devices`, `1 device`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
