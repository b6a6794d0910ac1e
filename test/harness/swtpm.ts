/**
 * A real software TPM per test file, on top of the product's simulator
 * (`@vigil/tpm2-ts/simulator`): `startSwtpm()` manufactures a TPM 2.0 (EK
 * certificates issued by a private manufacturer CA made for this test
 * process, so a test can trust exactly that CA), starts `swtpm socket` on a
 * Unix socket or free TCP ports, and kills it in `stop()` (and when the test
 * process exits, even by a signal: the simulator runs swtpm under a watchdog).
 *
 * What this harness adds for tests: manufacturing (key generation +
 * certificate signing) costs about 1.5 s, so by default it happens once per
 * test process (= per test file under vitest's forks pool) into a template
 * state directory; each `startSwtpm()` copies that state into its own temp
 * dir and runs its own swtpm process. TPMs started from the same template
 * share their EPS (same EKs and EK certificates). Pass `fresh: true` for a
 * TPM with its own EPS and CA. Temp dirs are removed however the test
 * process ends.
 *
 *   const tpmSim = await startSwtpm();            // Unix socket
 *   const tpm = tpmSim.connect();                 // a @vigil/tpm2-ts Tpm
 *   ...
 *   await tpmSim.stop();                          // in afterAll
 *
 * TCP mode (`{ transport: 'tcp' }`) puts the control port at data port + 1,
 * which tpm2-tools' swtpm TCTI requires: `tcti` is then the string to pass as
 * `TPM2TOOLS_TCTI` / `-T`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SocketAddress, SwtpmControl, Tpm } from '@vigil/tpm2-ts';
import { manufactureTpm, startSimulator, SwtpmManufacturer, type ManufacturedEkCertificates } from '@vigil/tpm2-ts/simulator';

export type { ManufacturedEkCertificates } from '@vigil/tpm2-ts/simulator';

export interface SwtpmOptions {
  /** `unix` (default): data and control on Unix sockets in the state's temp dir; `tcp`: 127.0.0.1, control port = data port + 1. */
  readonly transport?: 'unix' | 'tcp';
  /** PCR banks to allocate, as swtpm_setup's --pcr-banks takes them (default `sha1,sha256`). */
  readonly pcrBanks?: string;
  /** Manufacture a TPM of its own (own EPS, EKs, EK certificates and CA) instead of copying this process's template. */
  readonly fresh?: boolean;
}

export interface SwtpmInstance {
  /** TPM URI for `openTpm()` and `vigil-agent --tpm`: `swtpm:path=...` or `swtpm:host=127.0.0.1,port=N`. */
  readonly uri: string;
  /** tpm2-tools TCTI string (TCP mode only): `swtpm:host=127.0.0.1,port=N`. */
  readonly tcti: string | undefined;
  /** Data channel address. */
  readonly data: SocketAddress;
  /** Control channel address. */
  readonly ctrl: SocketAddress;
  readonly dataPath: string | undefined;
  readonly ctrlPath: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly ctrlPort: number | undefined;
  /** swtpm's state directory (tpm2-00.permall and friends). */
  readonly stateDir: string;
  /** PEM of the private manufacturer root CA that (through `ekIssuerCert`) signed the EK certificates. */
  readonly ekCaCert: string;
  /** PEM of the intermediate CA that signed the EK certificates directly. */
  readonly ekIssuerCert: string;
  readonly ekCertificates: ManufacturedEkCertificates;
  /** PCR banks allocated. */
  readonly pcrBanks: readonly string[];
  /** A new connection to this TPM (one at a time: swtpm serves one data connection, others wait). */
  connect(): Tpm;
  /** A control channel client for this swtpm. */
  control(): SwtpmControl;
  /** See `SwtpmSimulator.powerCycle`: pass the connection in use so Shutdown/Startup go through it. */
  powerCycle(tpm?: Tpm, options?: { readonly orderly?: boolean }): Promise<void>;
  /** Kills swtpm and starts it again on the same state and addresses (persistent state survives; Startup(CLEAR) is sent by swtpm). */
  restart(): Promise<void>;
  /** Kills swtpm and deletes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

interface Template {
  readonly stateDir: string;
  readonly ekCaCert: string;
  readonly ekIssuerCert: string;
  readonly ekCertificates: ManufacturedEkCertificates;
  readonly pcrBanks: readonly string[];
}

// Temp dirs of this process, each with the shell that removes it if the process dies.
const tempDirs = new Map<string, ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of tempDirs.keys()) rmSync(d, { recursive: true, force: true });
  });
}

/**
 * Removes `dir` when this process ends, however it ends: vitest may end a
 * worker with a signal, which skips 'exit' handlers. A shell blocked reading
 * its stdin (our pipe) wakes up when the pipe closes and deletes the dir.
 */
function removeWhenProcessEnds(dir: string): ChildProcess {
  const cleaner = spawn('sh', ['-c', 'read _; rm -rf -- "$1"', 'swtpm-cleanup', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
  cleaner.on('error', () => undefined);
  cleaner.unref();
  (cleaner.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return cleaner;
}

async function tempDir(prefix: string): Promise<string> {
  installExitHook();
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.set(d, removeWhenProcessEnds(d));
  return d;
}

/** Deletes a temp dir now and lets its cleaner go. */
async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.get(dir)?.stdin?.end();
  tempDirs.delete(dir);
}

/** A TPM manufactured by a manufacturer of its own (own root and issuing CA) into a temp dir. */
async function manufacture(pcrBanks: string): Promise<Template> {
  const dir = await tempDir('vigil-swtpm-template-');
  const manufacturer = await SwtpmManufacturer.open(join(dir, 'manufacturer'), { manufacturer: 'Vigil', model: 'vigil-test', version: '2.1' });
  const tpm = await manufactureTpm({ stateDir: join(dir, 'state'), manufacturer, pcrBanks: pcrBanks.split(',') });
  const { rootPem, issuerPem } = await manufacturer.certificates();
  return { stateDir: tpm.stateDir, ekCaCert: rootPem, ekIssuerCert: issuerPem, ekCertificates: tpm.ekCertificates, pcrBanks: tpm.pcrBanks };
}

const templates = new Map<string, Promise<Template>>();

function template(pcrBanks: string, fresh: boolean): Promise<Template> {
  if (fresh) return manufacture(pcrBanks);
  let t = templates.get(pcrBanks);
  if (!t) {
    t = manufacture(pcrBanks);
    templates.set(pcrBanks, t);
    t.catch(() => templates.delete(pcrBanks));
  }
  return t;
}

/** Starts a manufactured swtpm; see the module comment. */
export async function startSwtpm(options: SwtpmOptions = {}): Promise<SwtpmInstance> {
  const t = await template(options.pcrBanks ?? 'sha1,sha256', options.fresh === true);
  const dir = await tempDir('vigil-swtpm-');
  const stateDir = join(dir, 'state');
  await cp(t.stateDir, stateDir, { recursive: true });
  let sim;
  try {
    sim = await startSimulator({ stateDir, runDir: dir, transport: options.transport ?? 'unix' });
  } catch (e) {
    await removeTempDir(dir);
    throw e;
  }
  const { data, ctrl } = sim;
  return {
    uri: sim.uri,
    tcti: sim.tcti,
    data,
    ctrl,
    dataPath: 'path' in data ? data.path : undefined,
    ctrlPath: 'path' in ctrl ? ctrl.path : undefined,
    host: 'host' in data ? data.host : undefined,
    port: 'port' in data ? data.port : undefined,
    ctrlPort: 'port' in ctrl ? ctrl.port : undefined,
    stateDir,
    ekCaCert: t.ekCaCert,
    ekIssuerCert: t.ekIssuerCert,
    ekCertificates: t.ekCertificates,
    pcrBanks: t.pcrBanks,
    connect: () => sim.connect(),
    control: () => sim.control(),
    powerCycle: (tpm, opts) => sim.powerCycle(tpm, opts),
    restart: () => sim.restart(),
    async stop() {
      await sim.stop();
      await removeTempDir(dir);
    },
  };
}
