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
}

export function register(program: Command): void {
  program
    .command('start')
    .description('run the verifier server: the mutual-TLS MQTT broker (and, as they land, registrar and verifier)')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--port <n>', 'TCP port to listen on (0 picks a free one; the ready line says which)')
    .option('--host <address>', 'address to bind')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
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
  return overrides;
}

async function start(paths: DataDir, options: StartOptions): Promise<Running> {
  // Loaded here, not at the top: every vigil-server command registers at start-up.
  const [{ MemoryRevocationList, startBroker }, { loadServerConfig }, { createLogger }, { days, hours, loadFleetCaFiles, loadOrRenewServerCredentials }, { openSqliteStore }] =
    await Promise.all([
      import('../../broker/index.js'),
      import('../../config/index.js'),
      import('../../log.js'),
      import('../../pki/index.js'),
      import('../../store/index.js'),
    ]);
  const config = await loadServerConfig({ configPath: paths.config, overrides: overridesFrom(options) });
  if (!existsSync(paths.caCert)) {
    throw new CliError(`no fleet CA in ${paths.root} (run: vigil-server init --data ${paths.root})`, ExitCode.Io);
  }
  const log = createLogger({ level: config.log.level });
  const ca = await loadFleetCaFiles(paths); // refuses a group/world-readable CA key
  const server = await loadOrRenewServerCredentials(paths, ca, {
    sans: config.pki.serverSans,
    validityMs: days(config.pki.serverCertificateValidityDays),
  });
  if (server.renewed) log.warn({ file: paths.serverCert }, 'broker certificate was missing, foreign or near expiry: reissued');

  const crlSerials = await refreshCrl(paths, ca, config, log);
  const store: Store = await openSqliteStore(paths.database, { create: false });
  const revokedCertificates = await store.listRevokedCertificates();
  const revokedDevices = await store.listDevices({ revoked: true });
  const revocations = new MemoryRevocationList({
    serials: [...crlSerials, ...revokedCertificates.map((c) => c.serial)],
    deviceIds: revokedDevices.map((d) => d.id),
  });

  let broker: Broker;
  try {
    broker = await startBroker({
      host: config.listen.host,
      port: config.listen.port,
      caCertificatePem: ca.certificatePem,
      serverCertificatePem: server.credentials.certificatePem,
      serverKeyPem: server.credentials.privateKeyPem,
      tlsMinVersion: config.tls.minVersion,
      revocations,
      limits: config.limits,
      logger: log,
    });
  } catch (err) {
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new CliError(`cannot listen on ${config.listen.host} port ${config.listen.port}: ${code}`, ExitCode.Io, { cause: err });
    }
    throw err;
  }
  // Keep the CRL current for relying parties even when nothing is revoked for a while.
  const crlTimer = setInterval(() => {
    refreshCrl(paths, ca, config, log).catch((err: unknown) => log.error({ err }, 'CRL refresh failed'));
  }, hours(1));
  crlTimer.unref();

  // TODO(lead): wire the registrar (enroll topics) and the verifier pipeline to broker.onMessage here.
  log.info({ port: broker.port, host: config.listen.host, tlsMinVersion: config.tls.minVersion, dataDir: paths.root }, 'vigil-server ready');
  return {
    log,
    async stop() {
      clearInterval(crlTimer);
      await broker.close();
      await store.close();
      log.info('vigil-server stopped');
    },
  };
}

/**
 * Reissues the CRL when it is missing or past half its validity, keeping its
 * entries; returns the revoked serials it lists.
 */
async function refreshCrl(paths: DataDir, ca: FleetCa, config: ServerConfig, log: Logger): Promise<ReadonlySet<string>> {
  const { days, readCrlFile, reissueCrlFile } = await import('../../pki/index.js');
  const current = await readCrlFile(paths.crl, ca);
  const validityMs = days(config.pki.crlValidityDays);
  const stale = current === undefined || current.nextUpdate === undefined || current.nextUpdate.getTime() - Date.now() < validityMs / 2;
  if (stale) {
    await reissueCrlFile(paths.crl, ca, current?.entries ?? [], { validityMs });
    log.info({ file: paths.crl, entries: current?.entries.length ?? 0 }, 'CRL reissued');
  }
  return current?.revokedSerials ?? new Set();
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
