import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findSwtpmTools, SimulatorError } from '@vigil/tpm2-ts/simulator';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { dataDir } from '../datadir.js';
import { prepareDataDir } from './data-dir.js';
import { checkBuilt } from './locations.js';
import { enrollFleet } from './story/enroll.js';
import { keepExploring } from './story/explore.js';
import { showFleet } from './story/fleet-view.js';
import { adoptGoldenValues } from './story/golden-values.js';
import { buildFleet } from './story/manufacture.js';
import { prepareEnrollment } from './story/operator-prep.js';
import { powerOn } from './story/power-on.js';
import { count, type Scene } from './story/scene.js';
import { startDemoServer } from './story/server.js';
import { tamperWithModel, type TamperOutcome } from './story/tamper.js';
import { Teardown } from './teardown.js';
import type { Terminal } from './view/terminal.js';

export interface DemoOptions {
  /** Keep the fleet running after the story (until Ctrl-C) and keep its files. */
  readonly keep: boolean;
  /** Server data directory (new or empty); default a temporary one, removed at the end. */
  readonly data: string | undefined;
  /** Number of devices (1-16); the last one is tampered with. */
  readonly devices: number;
}

/** What the demo did and measured. */
export interface DemoOutcome extends TamperOutcome {
  readonly dataDir: string;
  readonly devices: readonly string[];
  readonly tampered: string;
}

const deviceName = (i: number): string => `edge-${String(i + 1).padStart(2, '0')}`;

/**
 * The whole product in one run, on this machine: a Vigil server, a fleet of
 * devices with software TPMs, enrollment, golden values, continuous
 * attestation, and the revocation of a device whose model was tampered
 * with (see README.md beside this file). Everything it starts is stopped
 * before it returns, also when it fails or `signal` aborts (Ctrl-C).
 */
export async function runDemo(options: DemoOptions, term: Terminal, signal: AbortSignal): Promise<DemoOutcome> {
  checkBuilt();
  await findSwtpmTools().catch((err: unknown) => {
    if (err instanceof SimulatorError) throw new CliError(err.message, ExitCode.Tpm, { cause: err });
    throw err;
  });
  const root = await prepareDataDir(options.data);
  const paths = dataDir(root.path);
  const scene: Scene = {
    term,
    paths,
    demoDir: join(paths.root, 'demo'),
    names: Array.from({ length: options.devices }, (_, i) => deviceName(i)),
    signal,
    teardown: new Teardown(),
  };
  try {
    return await story(scene, options.keep);
  } finally {
    term.line();
    term.line(term.paint.dim('stopping the agents, the software TPMs and the server…'));
    for (const problem of await scene.teardown.run()) term.line(term.paint.warn(`  could not stop cleanly: ${problem}`));
    const keepFiles = options.keep || !root.temporary;
    if (!keepFiles) await rm(root.path, { recursive: true, force: true });
    term.line(keepFiles ? `stopped; the data directory stays: ${root.path}` : `stopped; removed ${root.path}`);
  }
}

async function story(scene: Scene, keep: boolean): Promise<DemoOutcome> {
  const { term, names } = scene;
  await mkdir(scene.demoDir, { recursive: true, mode: 0o700 });
  term.line(term.paint.bold(`Vigil demo: ${count(names.length, 'edge device')} with software TPMs, one verifier, one tampered model.`));
  term.line(term.paint.dim(`data directory ${scene.paths.root} (server data, and each device under demo/)`));
  term.line();

  const devices = await buildFleet(scene);
  const server = await startDemoServer(scene);
  await powerOn(scene, devices);
  const tokens = await prepareEnrollment(scene, devices);
  await enrollFleet(scene, server, devices, tokens);
  await adoptGoldenValues(scene);

  term.line();
  await showFleet(scene, server, { frames: 9, everyMs: 500 });
  term.line();

  const victim = devices[devices.length - 1]!;
  const measured = await tamperWithModel(scene, server, victim);
  term.line();
  if (keep) await keepExploring(scene, server, victim);
  else await showFleet(scene, server, { frames: 1, everyMs: 0 });
  return { dataDir: scene.paths.root, devices: names, tampered: victim.name, ...measured };
}
