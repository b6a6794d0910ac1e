/**
 * The server the load benchmarks (`verify`, `fleet`, `enroll`) measure: the
 * real Vigil server in this process (`startVigilServer`: SQLite store in
 * WAL mode, the mutual-TLS broker, registrar, verifier, revocation), its
 * data directory made by the built `vigil-server init`, logging at `info`
 * to a file as a production server would to its journal, and — when a run
 * includes real swtpm devices — their manufacturer CA trusted for EK
 * certificates. Load generators run in other processes, so this process's
 * CPU time and RSS are the server's (plus a few timers of the benchmark).
 * The broker's sends are observed for the challenges going out
 * (`issued-ledger.ts`): idle until a benchmark opens a ledger window.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger, dataDir, type DataDir, type FleetCa, type RunningServer, type Store } from '@vigil/server';
import { startVigilServer } from '@vigil/server';
import { IssuedChallenges, observeIssuedChallenges } from './issued-ledger.js';
import { processCpu, type ProcessCpu } from './process-cpu.js';

const run = promisify(execFile);
const SERVER_CLI = fileURLToPath(new URL('../../server/dist/cli/vigil-server.cjs', import.meta.url));

export interface LoadServer {
  readonly running: RunningServer;
  readonly paths: DataDir;
  readonly store: Store;
  readonly ca: FleetCa;
  readonly caPem: string;
  readonly port: number;
  readonly logFile: string;
  /** The challenges the broker sent, counted off the wire for a ledger window (`issued.setWindow`). */
  readonly issued: IssuedChallenges;
  /** CPU time of this process (user + system, every thread), of its main thread alone (the event loop), ms, and its RSS, bytes. */
  usage(): ProcessCpu;
  stop(): Promise<void>;
}

export interface LoadServerOptions {
  /** A fresh temp directory the server's data directory goes in. */
  readonly root: string;
  /** Configuration by dotted path, e.g. `{ 'attestation.intervalSeconds': 60 }`. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** PEM of the TPM manufacturer CAs to trust for EK certificates (real or simulated TPMs). */
  readonly manufacturerCaPem?: string;
  readonly logLevel?: 'info' | 'warn' | 'error';
}

export async function startLoadServer(options: LoadServerOptions): Promise<LoadServer> {
  const paths = dataDir(join(options.root, 'server'));
  // A 2048-bit CA (the default is 3072): the benchmark measures verification, not CA signing.
  await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  const overrides: Array<{ path: string; value: unknown; flag: string }> = [
    { path: 'listen.host', value: '127.0.0.1', flag: 'bench' },
    { path: 'listen.port', value: 0, flag: 'bench' },
    { path: 'admin.port', value: 0, flag: 'bench' },
  ];
  if (options.manufacturerCaPem !== undefined) {
    writeFileSync(join(paths.root, 'tpm-manufacturers.pem'), options.manufacturerCaPem);
    overrides.push({ path: 'enrollment.manufacturerCaFiles', value: ['tpm-manufacturers.pem'], flag: 'bench' });
  }
  for (const [path, value] of Object.entries(options.config ?? {})) overrides.push({ path, value, flag: 'bench' });
  const logFile = join(options.root, 'server.log');
  const logStream = createWriteStream(logFile);
  const logger = createLogger({ level: options.logLevel ?? 'info', destination: logStream });
  const running = await startVigilServer({ paths, logger, overrides });
  const { store, ca, broker } = running.context;
  const issued = new IssuedChallenges();
  const unobserve = observeIssuedChallenges(broker, issued);
  return {
    running,
    paths,
    store,
    ca,
    caPem: ca.certificatePem,
    port: running.port,
    logFile,
    issued,
    usage: processCpu,
    async stop() {
      unobserve();
      await running.stop();
      await new Promise<void>((resolve) => logStream.end(() => resolve()));
    },
  };
}
