import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, ExitCode } from '../cli/exit-codes.js';

/**
 * Where the demo finds what it runs. It is part of the repository's build,
 * not of an installed package: the agent CLI is the one built beside the
 * server (`agent/dist`), the server CLI is this package's own, and the
 * firmware event log is the copy kept with these sources (see fixtures/README.md).
 */
const SERVER_ROOT = resolve(import.meta.dirname, '..', '..');

export const SERVER_CLI = join(SERVER_ROOT, 'dist', 'cli', 'vigil-server.cjs');
export const AGENT_CLI = join(SERVER_ROOT, '..', 'agent', 'dist', 'cli', 'main.js');
export const BOOT_LOG_FIXTURE = join(SERVER_ROOT, 'src', 'demo', 'fixtures', 'ubuntu-2104-gce.binary_bios_measurements');

/** Fails with the command that fixes it when something the demo runs is missing. */
export function checkBuilt(): void {
  for (const [what, path] of [
    ['the server CLI', SERVER_CLI],
    ['the agent CLI', AGENT_CLI],
  ] as const) {
    if (!existsSync(path)) throw new CliError(`${what} is not built (${path} is missing): run npx tsc -b, or npm run demo`, ExitCode.Usage);
  }
  if (!existsSync(BOOT_LOG_FIXTURE)) throw new CliError(`the demo's firmware event log ${BOOT_LOG_FIXTURE} is missing`, ExitCode.Io);
}
