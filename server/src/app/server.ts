import { existsSync } from 'node:fs';
import { type Broker, MemoryRevocationList } from '../broker/index.js';
import { startBrokerIntake, startServerBroker, stopBrokerIntake } from '../broker-external/index.js';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { type ConfigOverride, loadServerConfig } from '../config/index.js';
import type { DataDir } from '../datadir.js';
import { createLogger, type Logger } from '../log.js';
import { days, loadFleetCaFiles, loadOrRenewServerCredentials } from '../pki/index.js';
import { openSelectedStore, StoreError, type Store } from '../store/index.js';
import { components as defaultComponents } from './components.js';
import { createServerMetrics } from '../metrics.js';
import type { Component, ComponentFactory, ServerContext } from './context.js';
import { CrlUpkeep } from './crl.js';
import { ServiceDirectory } from './services.js';

export interface StartServerOptions {
  readonly paths: DataDir;
  readonly overrides?: readonly ConfigOverride[];
  /** Replaces the default component list (tests start subsets). */
  readonly components?: ReadonlyArray<{ readonly name: string; readonly load: () => Promise<ComponentFactory> }>;
  /** Use this logger instead of creating one from the configuration (tests capture logs). */
  readonly logger?: Logger;
}

export interface RunningServer {
  readonly context: ServerContext;
  /** The MQTT-over-TLS port actually listened on. */
  readonly port: number;
  readonly log: Logger;
  stop(): Promise<void>;
}

/**
 * Starts a Vigil server from its data directory: configuration, fleet CA,
 * broker TLS credentials, CRL, store, the mutual-TLS broker, then every
 * component (registrar, verifier, admin API, ...). Logs one "vigil-server
 * ready" line with the port when done. Used by `vigil-server start` and by
 * tests that run the server in-process.
 */
export async function startVigilServer(options: StartServerOptions): Promise<RunningServer> {
  const { paths } = options;
  const config = await loadServerConfig({ configPath: paths.config, overrides: [...(options.overrides ?? [])] });
  if (!existsSync(paths.caCert)) {
    throw new CliError(`no fleet CA in ${paths.root} (run: vigil-server init --data ${paths.root})`, ExitCode.Io);
  }
  const log = options.logger ?? createLogger({ level: config.log.level });
  const ca = await loadFleetCaFiles(paths); // refuses a group/world-readable CA key
  const server = await loadOrRenewServerCredentials(paths, ca, {
    sans: config.pki.serverSans,
    validityMs: days(config.pki.serverCertificateValidityDays),
  });
  // reason: missing, unusable, foreign (another CA or key), expiring (< 30 days), sans-changed (pki.serverSans edited).
  if (server.renewed) log.warn({ file: paths.serverCert, reason: server.reason }, 'broker certificate reissued');

  let store: Store;
  try {
    // store.url selects SQLite in the data directory (default) or a PostgreSQL database shared by replicas.
    store = await openSelectedStore(config.store, paths.database, {
      create: false,
      onIdleError: (err) => log.warn({ err }, 'store connection lost (replaced)'),
      backgroundCheckpoints: true,
      onCheckpointFallback: (reason) => log.warn({ reason }, 'SQLite checkpoints run inline again'),
    });
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  }
  let crl: CrlUpkeep;
  try {
    // The store is the source of truth for revoked serials: the CRL is rebuilt from it, never parsed from the
    // previous file (a CRL grows with the fleet's revocations, past what an ASN.1 decoder accepts).
    crl = await CrlUpkeep.atStart(paths, ca, config, store, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const revokedCertificates = await store.listRevokedCertificates();
  const revokedDevices = await store.listDevices({ revoked: true });
  const revocations = new MemoryRevocationList({
    serials: revokedCertificates.map((c) => c.serial),
    deviceIds: revokedDevices.map((d) => d.id),
  });

  let broker: Broker;
  try {
    // broker.mode: Vigil's own broker, or an external broker cluster (with this listener for enrollment only).
    broker = await startServerBroker({ config, paths, ca, store, serverCredentials: server.credentials, revocations, log });
  } catch (err) {
    await crl.close();
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new CliError(`cannot listen on ${config.listen.host} port ${config.listen.port}: ${code}`, ExitCode.Io, { cause: err });
    }
    throw err;
  }

  const metrics = createServerMetrics({
    connectedClients: () => ({ devices: broker.connectedDeviceCount, bootstrap: broker.connectedCount - broker.connectedDeviceCount }),
  });
  const context: ServerContext = { paths, config, log, ca, store, broker, revocations, metrics, services: new ServiceDirectory() };
  const started: Component[] = [];
  const stopAll = async (): Promise<void> => {
    // An external broker gives this replica's share of new work to the others while the components finish.
    await stopBrokerIntake(broker);
    for (const c of started.reverse()) {
      await c.close().catch((err: unknown) => log.error({ err, component: c.name }, 'component failed to stop cleanly'));
    }
    started.length = 0;
    await crl.close();
    await broker.close();
    await store.close();
  };
  try {
    for (const { name, load } of options.components ?? defaultComponents) {
      const factory = await load();
      started.push(await factory(context));
      log.debug({ component: name }, 'component started');
    }
    await startBrokerIntake(broker);
  } catch (err) {
    await stopAll();
    throw err;
  }

  // Keep the CRL current for relying parties even when nothing is revoked for a while.
  crl.start();

  log.info(
    {
      port: broker.port,
      host: config.listen.host,
      tlsMinVersion: config.tls.minVersion,
      dataDir: paths.root,
      // libuv's pool runs the signature checks: sized by the vigil-server launcher (threadpool.cts) unless set.
      threadPool: process.env['UV_THREADPOOL_SIZE'] ?? 'libuv default (4)',
      components: started.map((c) => c.name),
      ...Object.assign({}, ...started.map((c) => c.ready ?? {})),
    },
    'vigil-server ready',
  );
  return {
    context,
    port: broker.port,
    log,
    async stop() {
      await stopAll();
      log.info('vigil-server stopped');
    },
  };
}
