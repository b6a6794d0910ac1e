import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { Broker } from '../../broker/index.js';
import type { ConfigOverride, ServerConfig } from '../../config/index.js';
import { startupError } from '../../config/startup-errors.js';
import { dataDir, defaultDataRoot, type DataDir } from '../../datadir.js';
import type { Logger } from '../../log.js';
import type { FleetCa } from '../../pki/index.js';
import type { Store } from '../../store/index.js';
import { CliError, ExitCode } from '../exit-codes.js';

interface StartOptions {
  readonly data: string;
  readonly port?: string;
  readonly host?: string;
  readonly logLevel?: string;
  readonly attestInterval?: string;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('run the verifier server: mutual-TLS MQTT broker, registrar, verifier and admin API')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--port <n>', 'TCP port to listen on (0 picks a free one; the ready line says which)')
    .option('--host <address>', 'address to bind')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--attest-interval <duration>', 'how often each device is challenged, e.g. 10s, 1m (overrides attestation.intervalSeconds)')
    .action(async (options: StartOptions) => {
      const paths = dataDir(options.data);
      // Handlers first: a signal that arrives while starting still means a clean stop.
      const signal = untilSignal();
      let running: Running;
      try {
        running = await start(paths, options);
      } catch (err) {
        signal.cancel();
        startupError(err, paths.root);
      }
      running.log.info({ signal: await signal.received }, 'vigil-server stopping');
      await running.stop();
    });
}

interface Running {
  readonly log: Logger;
  stop(): Promise<void>;
}

function overridesFrom(options: StartOptions): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  // A non-numeric port is passed through as text so that validation names the key.
  if (options.port !== undefined) overrides.push({ path: 'listen.port', value: /^\d+$/.test(options.port) ? Number(options.port) : options.port, flag: '--port' });
  if (options.host !== undefined) overrides.push({ path: 'listen.host', value: options.host, flag: '--host' });
  if (options.logLevel !== undefined) overrides.push({ path: 'log.level', value: options.logLevel, flag: '--log-level' });
  if (options.attestInterval !== undefined) overrides.push({ path: 'attestation.intervalSeconds', value: intervalSeconds(options.attestInterval), flag: '--attest-interval' });
  return overrides;
}

/** `10s`, `1m`, `1m30s`, `500ms` → seconds; anything else passes through as text so validation names the flag. */
function intervalSeconds(text: string): number | string {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(text);
  if (m === null || text === '') return /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : text;
  const [, h, min, sec, ms] = m;
  return Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(sec ?? 0) + Number(ms ?? 0) / 1000;
}

async function start(paths: DataDir, options: StartOptions): Promise<Running> {
  // Loaded here, not at the top: every vigil-server command registers at start-up.
  const { startVigilServer } = await import('../../app/index.js');
  return startVigilServer({ paths, overrides: overridesFrom(options) });
}

/** Resolves with the first SIGINT or SIGTERM; `cancel` removes the handlers. */
function untilSignal(): { received: Promise<NodeJS.Signals>; cancel(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const cancel = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      cancel();
      resolve(signal);
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { received, cancel };
}
