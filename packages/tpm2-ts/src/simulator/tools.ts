import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { SimulatorError } from './errors.js';

/**
 * The swtpm programs the simulator runs. Each is a command name looked up on
 * PATH (and in /usr/bin, /usr/sbin, /usr/local/bin, which a minimal PATH may
 * lack) or an absolute path.
 */
export interface SwtpmTools {
  /** The TPM emulator (Debian package `swtpm`). */
  readonly swtpm: string;
  /** The manufacturing tool (Debian package `swtpm-tools`). */
  readonly swtpmSetup: string;
  /** The local CA that signs EK and platform certificates (Debian package `swtpm-tools`). */
  readonly swtpmLocalca: string;
}

export const DEFAULT_SWTPM_TOOLS: SwtpmTools = { swtpm: 'swtpm', swtpmSetup: 'swtpm_setup', swtpmLocalca: 'swtpm_localca' };

const PACKAGE: Record<keyof SwtpmTools, string> = { swtpm: 'swtpm', swtpmSetup: 'swtpm-tools', swtpmLocalca: 'swtpm-tools' };
const EXTRA_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of `command`, or undefined when it is nowhere to be found. */
async function locate(command: string): Promise<string | undefined> {
  if (isAbsolute(command) || command.includes('/')) return (await executable(command)) ? command : undefined;
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, command);
    if (await executable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Resolves every tool to an absolute path, or fails with one
 * `SimulatorError('not-installed')` naming everything missing and the
 * apt-get command that installs it.
 */
export async function findSwtpmTools(tools: Partial<SwtpmTools> = {}): Promise<SwtpmTools> {
  const wanted: SwtpmTools = { ...DEFAULT_SWTPM_TOOLS, ...tools };
  const found: Partial<Record<keyof SwtpmTools, string>> = {};
  const missing: Array<keyof SwtpmTools> = [];
  for (const key of Object.keys(wanted) as Array<keyof SwtpmTools>) {
    const path = await locate(wanted[key]);
    if (path === undefined) missing.push(key);
    else found[key] = path;
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((k) => PACKAGE[k]))];
    throw new SimulatorError(
      'not-installed',
      `software TPM not installed: ${missing.map((k) => wanted[k]).join(', ')} not found (install with: apt-get install -y ${packages.join(' ')})`,
    );
  }
  return found as SwtpmTools;
}
