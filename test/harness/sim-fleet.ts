/**
 * The fleet simulator for the reliability and adversarial tests: the one in
 * `bench/src/fleet` (README there), the same code the benchmarks drive.
 * Devices whose TPM is software (an ECC P-256 AK held by node:crypto) but
 * whose evidence is byte for byte what a TPM sends — a real TPMS_ATTEST of
 * type TPM_ST_ATTEST_QUOTE and a TPMT_SIGNATURE, marshalled by
 * @vigil/tpm2-ts — over real mutual-TLS MQTT to the real server. Hundreds
 * of them fit in one test process, which a swtpm per device would not.
 *
 * Here they are registered straight in the store (`enrollSimDevices`: one
 * token use each, a fleet-CA certificate for the process's shared TLS key,
 * the software AK's TPM2B_PUBLIC), which is what the registrar commits
 * after a successful enrollment; enrollment itself is tested with real
 * EKs (test/enrollment-*.test.ts).
 *
 * A device made here has no platform: its PCRs stay zero and it sends no
 * logs, which is what a TPM whose PCRs nothing extended quotes, and it
 * replays (every PCR governed by the absent boot log must be zero), so with
 * no policy the verdict is affirming. Tests that need a failing device bend
 * one evidence message (`simEvidence`'s `bend`, `hostile-evidence.ts`).
 *
 * This file adds what only tests need: the shared test key, and a whole
 * server in-process (`startSimServer`).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FleetCa } from '@vigil/server';
import { enrollSimDevices as enrollWithKeys, type SimIdentity } from '../../bench/src/fleet/identity.js';
import type { Store } from '../../server/src/store/index.js';
import { startVigilServer, type RunningServer } from '../../server/src/app/index.js';
import type { ConfigOverride } from '../../server/src/config/index.js';
import { dataDir, type DataDir } from '../../server/src/datadir.js';
import { LogCapture } from './broker.js';
import { makeTempDir, sharedKeyPem } from './pki.js';

export { SoftwareTpm, type SimClock } from '../../bench/src/fleet/software-tpm.js';
export { simEvidence, type SimQuoteParts } from '../../bench/src/fleet/attester.js';
export { Inbox } from '../../bench/src/fleet/inbox.js';
export { delay, SimDevice, type SimDeviceOptions } from '../../bench/src/fleet/device.js';
export type { SimIdentity } from '../../bench/src/fleet/identity.js';

/**
 * Registers `count` simulated devices in the store as the registrar would
 * after a successful enrollment, all on the process's shared TLS key (each
 * with its own certificate, device id and AK).
 */
export function enrollSimDevices(store: Store, ca: FleetCa, count: number, prefix = 'sim'): Promise<SimIdentity[]> {
  return enrollWithKeys(store, ca, count, prefix, { keys: [sharedKeyPem()], actor: 'test:sim-fleet' });
}

/** A whole server in-process for simulated devices: `vigil-server init` (the built CLI) into a temp dir, then started on a free port. */
export interface SimServer {
  readonly server: RunningServer;
  readonly paths: DataDir;
  readonly store: Store;
  readonly ca: FleetCa;
  readonly logs: LogCapture;
  readonly root: string;
  readonly port: number;
  stop(): Promise<void>;
}

const SERVER_CLI = join(import.meta.dirname, '..', '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

/** Runs `vigil-server init` (built CLI) into `<root>/data` and returns the data directory. */
export async function initDataDir(root: string): Promise<DataDir> {
  const paths = dataDir(join(root, 'data'));
  await promisify(execFile)(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  return paths;
}

export async function startSimServer(options: { overrides?: readonly ConfigOverride[]; paths?: DataDir; root?: string } = {}): Promise<SimServer> {
  const tmp = options.root === undefined ? await makeTempDir('vigil-sim-') : undefined;
  const root = options.root ?? tmp!.path;
  const paths = options.paths ?? (await initDataDir(root));
  const logs = new LogCapture();
  const server = await startVigilServer({
    paths,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
      { path: 'listen.port', value: 0, flag: 'test' },
      ...(options.overrides ?? []),
    ],
    logger: logs.logger,
  });
  return {
    server,
    paths,
    store: server.context.store,
    ca: server.context.ca,
    logs,
    root,
    port: server.port,
    async stop() {
      await server.stop();
      await tmp?.cleanup();
    },
  };
}
