/**
 * A Mosquitto configuration for a throwaway broker, made from Vigil's
 * reference configuration (`deploy/mosquitto/mosquitto.conf`) with only the
 * port and the file locations changed, so that what the benchmarks and the
 * tests run is what operators are told to deploy. Used by the scale-out rig
 * and by the tests' broker harness (`test/harness/mosquitto.ts`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REFERENCE_CONF = join(import.meta.dirname, '..', '..', 'deploy', 'mosquitto', 'mosquitto.conf');

/** The dynamic-security plugin; Debian puts it under /usr/lib/<multiarch triplet>/. */
export function findDynsecPlugin(): string | undefined {
  for (const dir of ['/usr/lib', ...(existsSync('/usr/lib') ? readdirSync('/usr/lib').map((d) => join('/usr/lib', d)) : [])]) {
    const candidate = join(dir, 'mosquitto_dynamic_security.so');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface BrokerConfOptions {
  /** Holds ca.pem, broker.pem, broker.key, crl.pem, dynamic-security.json; gets mosquitto.pid. */
  readonly dir: string;
  readonly port: number;
  readonly plugin: string;
  /** Lines appended after `pid_file` (logging, persistence). */
  readonly extra: readonly string[];
  /** The reference configuration's text (default: read from REFERENCE_CONF). */
  readonly reference?: string;
}

/** The reference configuration with this instance's port and file locations; throws if a line to replace is missing. */
export function mosquittoConf(options: BrokerConfOptions): string {
  const { dir, port, plugin } = options;
  const replace: Record<string, string> = {
    listener: `listener ${port} 127.0.0.1`,
    cafile: `cafile ${join(dir, 'ca.pem')}`,
    certfile: `certfile ${join(dir, 'broker.pem')}`,
    keyfile: `keyfile ${join(dir, 'broker.key')}`,
    crlfile: `crlfile ${join(dir, 'crl.pem')}`,
    plugin: `plugin ${plugin}`,
    plugin_opt_config_file: `plugin_opt_config_file ${join(dir, 'dynamic-security.json')}`,
  };
  const seen = new Set<string>();
  const lines = (options.reference ?? readFileSync(REFERENCE_CONF, 'utf8')).split('\n').map((line) => {
    const key = /^([a-z_]+)\s/.exec(line)?.[1];
    if (key === undefined || replace[key] === undefined) return line;
    seen.add(key);
    return replace[key]!;
  });
  for (const key of Object.keys(replace)) if (!seen.has(key)) throw new Error(`the reference mosquitto.conf has no ${key} line`);
  return [...lines, `pid_file ${join(dir, 'mosquitto.pid')}`, ...options.extra, ''].join('\n');
}
