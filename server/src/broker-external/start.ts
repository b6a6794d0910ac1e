import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { startBroker, type Broker, type MemoryRevocationList } from '../broker/index.js';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import type { ServerConfig } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import type { DataDir } from '../datadir.js';
import type { Logger } from '../log.js';
import { days, type FleetCa, type ServerCredentials } from '../pki/index.js';
import type { Store } from '../store/index.js';
import { CrlPublisher } from '../revocation/crl-publisher.js';
import { CrlReloader } from './crl-reload.js';
import { ExternalBroker } from './external-broker.js';
import { LinkError } from './mqtt-link.js';
import { loadOrIssueVerifierCredentials } from './verifier-credentials.js';
import { replicaNameOf } from './verifier-identity.js';

export interface ServerBrokerInputs {
  readonly config: ServerConfig;
  readonly paths: DataDir;
  readonly ca: FleetCa;
  readonly store: Store;
  /** The server's own TLS credential (the listener's certificate). */
  readonly serverCredentials: ServerCredentials;
  /** Revocations known at start, checked by Vigil's own listener. */
  readonly revocations: MemoryRevocationList;
  readonly log: Logger;
}

/**
 * Starts the broker the configuration selects (`broker.mode`): Vigil's own
 * mutual-TLS broker on `listen`, or, in external mode, that same listener
 * for enrollment only plus a client link to the external broker.
 *
 * @throws ConfigError (external mode without `broker.url`, unreadable `broker.caFile`),
 *   CliError exit 5 (the external broker was not reachable within 30 s), what `startBroker` throws
 */
export async function startServerBroker(inputs: ServerBrokerInputs): Promise<Broker> {
  const { config, log } = inputs;
  const bootstrap = await startBroker({
    host: config.listen.host,
    port: config.listen.port,
    caCertificatePem: inputs.ca.certificatePem,
    serverCertificatePem: inputs.serverCredentials.certificatePem,
    serverKeyPem: inputs.serverCredentials.privateKeyPem,
    tlsMinVersion: config.tls.minVersion,
    revocations: inputs.revocations,
    limits: config.limits,
    logger: log,
  });
  if (config.broker.mode === 'embedded') return bootstrap;
  try {
    return await startExternal(inputs, bootstrap);
  } catch (err) {
    await bootstrap.close();
    throw err;
  }
}

/**
 * Once every component runs: an external broker starts handing this
 * replica its share of the work (a no-op for Vigil's own broker).
 */
export async function startBrokerIntake(broker: Broker): Promise<void> {
  if (broker instanceof ExternalBroker) await broker.startIntake();
}

/** Before the components close: an external broker hands new work to the other replicas (a no-op for Vigil's own broker). */
export async function stopBrokerIntake(broker: Broker): Promise<void> {
  if (broker instanceof ExternalBroker) await broker.stopIntake().catch(() => undefined);
}

async function startExternal(inputs: ServerBrokerInputs, bootstrap: Broker): Promise<Broker> {
  const { config, paths } = inputs;
  const b = config.broker;
  if (b.url === '') throw new ConfigError('broker.url', 'config.yaml', 'required when broker.mode is external (mqtts://HOST:PORT)');
  const url = new URL(b.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 8883 : Number(url.port);
  let brokerCaPem = inputs.ca.certificatePem;
  if (b.caFile !== '') {
    const file = isAbsolute(b.caFile) ? b.caFile : join(paths.root, b.caFile);
    try {
      brokerCaPem = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError('broker.caFile', 'config.yaml', `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const replicaName = replicaNameOf(b.replicaName);
  const { credentials, issued } = await loadOrIssueVerifierCredentials(paths, inputs.ca, replicaName, { validityMs: days(config.pki.serverCertificateValidityDays) });
  if (issued) inputs.log.info({ username: credentials.username }, 'issued this replica\'s broker client certificate');
  const log = inputs.log.child({ component: 'crl-reload' });
  const crlPublisher = new CrlPublisher({ store: inputs.store, ca: inputs.ca, path: paths.crl, validityMs: days(config.pki.crlValidityDays), log });
  let crlClosed = false;
  const closeCrl = async () => {
    if (crlClosed) return;
    crlClosed = true;
    await crlPublisher.close();
  };
  try {
    return await ExternalBroker.start({
      bootstrap,
      host,
      port,
      brokerCaPem,
      credentials,
      replicaName,
      shareGroup: b.shareGroup,
      tlsMinVersion: config.tls.minVersion,
      heartbeatMs: b.heartbeatSeconds * 1000,
      dynamicSecurity: b.dynamicSecurity,
      store: inputs.store,
      crl: new CrlReloader(paths.crl, b.crlReloadCommand, log, () => crlPublisher.reissue()),
      onClose: closeCrl,
      log: inputs.log,
    });
  } catch (err) {
    await closeCrl();
    if (err instanceof LinkError) throw new CliError(err.message, ExitCode.Network, { cause: err });
    throw err;
  }
}
