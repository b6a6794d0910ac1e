/**
 * A real Vigil server for agent tests: a data directory made by the built
 * `vigil-server init`, swtpm's manufacturer CA trusted for EK certificates,
 * started in-process on 127.0.0.1 port 0 (`startVigilServer`), logs captured.
 * `restart()` stops it and starts it again on the same data directory and
 * port (devices must come back on their own).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startVigilServer, type RunningServer } from '../../../server/src/app/index.js';
import { dataDir, type DataDir } from '../../../server/src/datadir.js';
import { VerifierService } from '../../../server/src/verifier/component.js';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../../../server/src/store/index.js';
import { LogCapture } from '../../../test/harness/broker.js';
import type { SwtpmInstance } from '../../../test/harness/swtpm.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', '..', '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

export interface TestServer {
  readonly paths: DataDir;
  readonly logs: LogCapture;
  readonly running: RunningServer;
  readonly store: Store;
  readonly port: number;
  readonly url: string;
  readonly caFile: string;
  readonly caPem: string;
  /** Makes the running verifier see policy changes written to the store now (it reloads them periodically). */
  reloadPolicies(): Promise<void>;
  /** A fresh one-use enrollment token. */
  newToken(options?: { uses?: number }): Promise<string>;
  /** Stops the server (the port stays ours to reuse in `start`). */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  start(): Promise<void>;
}

export interface TestServerOptions {
  readonly root: string;
  /** EK certificates of these swtpms are trusted (their manufacturer CAs). */
  readonly tpms: readonly SwtpmInstance[];
  /** Extra configuration overrides (dotted path → value). */
  readonly config?: Readonly<Record<string, unknown>>;
}

export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const paths = dataDir(join(options.root, 'server'));
  await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  const bundle = [...new Set(options.tpms.flatMap((t) => [t.ekCaCert, t.ekIssuerCert]))].join('');
  await writeFile(join(paths.root, 'tpm-manufacturers.pem'), bundle);
  const logs = new LogCapture();
  let port = 0;
  const overrides = () => [
    { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
    { path: 'listen.port', value: port, flag: 'test' },
    { path: 'enrollment.manufacturerCaFiles', value: ['tpm-manufacturers.pem'], flag: 'test' },
      // The admin API is not what these exercise; on a free port so parallel runs do not collide on 8443.
      { path: 'admin.port', value: 0, flag: 'test' },
    ...Object.entries(options.config ?? {}).map(([path, value]) => ({ path, value, flag: 'test' })),
  ];
  let running = await startVigilServer({ paths, overrides: overrides(), logger: logs.logger });
  port = running.port;
  const server: TestServer = {
    paths,
    logs,
    get running() {
      return running;
    },
    get store() {
      return running.context.store;
    },
    port,
    url: `mqtts://localhost:${port}`,
    caFile: paths.caCert,
    caPem: running.context.ca.certificatePem,
    async newToken(o = {}) {
      const token = generateEnrollmentToken();
      await running.context.store.createToken({ hash: hashEnrollmentToken(token), maxUses: o.uses ?? 1, expiresAt: Date.now() + 3_600_000, deviceName: null, actor: 'test' });
      return token;
    },
    async reloadPolicies() {
      await running.context.services.get(VerifierService)?.policies.reload();
    },
    async stop() {
      await running.stop();
    },
    async start() {
      running = await startVigilServer({ paths, overrides: overrides(), logger: logs.logger });
    },
  };
  return server;
}
