/**
 * A real software TPM per test file: `startSwtpm()` manufactures a TPM 2.0
 * with swtpm_setup (EK certificates issued by a private manufacturer CA made
 * for this test process, so a test can trust exactly that CA), starts
 * `swtpm socket` on a Unix socket or free TCP ports, and kills it in `stop()`
 * (and when the test process exits, even by a signal: a watchdog shell ends
 * swtpm when our end of its stdin pipe closes).
 *
 * Manufacturing (key generation + certificate signing) costs about 1.5 s, so
 * by default it happens once per test process (= per test file under
 * vitest's forks pool) into a template state directory; each `startSwtpm()`
 * copies that state into its own temp dir and runs its own swtpm process.
 * TPMs started from the same template share their EPS (same EKs and EK
 * certificates). Pass `fresh: true` for a TPM with its own EPS and CA.
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
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type SocketAddress,
  Shutdown,
  Startup,
  SwtpmControl,
  SwtpmTransport,
  Tpm,
  TPM_RC,
  TPM_SU,
  TpmResponseError,
} from '@vigil/tpm2-ts';

export interface SwtpmOptions {
  /** `unix` (default): data and control on Unix sockets in the state's temp dir; `tcp`: 127.0.0.1, control port = data port + 1. */
  readonly transport?: 'unix' | 'tcp';
  /** PCR banks to allocate, as swtpm_setup's --pcr-banks takes them (default `sha1,sha256`). */
  readonly pcrBanks?: string;
  /** Manufacture a TPM of its own (own EPS, EKs, EK certificates and CA) instead of copying this process's template. */
  readonly fresh?: boolean;
}

/** DER EK certificates swtpm_setup wrote to NV, by the names it gives them. */
export interface ManufacturedEkCertificates {
  /** RSA 2048 EK certificate (NV 0x01c00002). */
  readonly rsa2048?: Uint8Array;
  /** ECC NIST P-384 EK certificate (NV 0x01c00016). */
  readonly secp384r1?: Uint8Array;
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
  /**
   * Power cycle over the control channel (TPM_Init): PCRs reset, sessions
   * and transient objects are gone, resetCount increments on the next
   * Startup(CLEAR). swtpm serves one data connection at a time, so the
   * harness cannot send TPM2_Startup itself while a test holds a connection:
   * pass that connection as `tpm` and the harness sends Shutdown(CLEAR)
   * before (an orderly shutdown, unless `orderly: false`) and
   * Startup(CLEAR) after through it. Without `tpm`, the caller must send
   * TPM2_Startup.
   */
  powerCycle(tpm?: Tpm, options?: { readonly orderly?: boolean }): Promise<void>;
  /** Kills swtpm and starts it again on the same state and addresses (persistent state survives; Startup(CLEAR) is sent by swtpm). */
  restart(): Promise<void>;
  /** Kills swtpm and deletes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

interface Template {
  readonly dir: string;
  readonly stateDir: string;
  readonly ekCaCert: string;
  readonly ekIssuerCert: string;
  readonly ekCertificates: ManufacturedEkCertificates;
  readonly pcrBanks: readonly string[];
}

// Everything this process started, for the exit hook.
const children = new Set<ChildProcess>();
const tempDirs = new Map<string, ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
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

function run(cmd: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (d: Buffer): void => {
      if (output.length < 64_000) output += d.toString();
    };
    p.stdout.on('data', add);
    p.stderr.on('data', add);
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Manufactures a TPM into `dir/state`: a private swtpm_localca (its CA is
 * created on first use in an empty statedir, so every template has its own
 * root and intermediate CA), EKs (RSA 2048 and ECC P-384, as swtpm_setup
 * makes them) with certificates in NV, and a platform certificate.
 */
async function manufacture(pcrBanks: string): Promise<Template> {
  const dir = await tempDir('vigil-swtpm-template-');
  const caDir = join(dir, 'ca');
  const stateDir = join(dir, 'state');
  const certDir = join(dir, 'ek-certs');
  await Promise.all([mkdir(caDir, { mode: 0o700 }), mkdir(stateDir), mkdir(certDir)]);
  const localcaConf = join(dir, 'swtpm-localca.conf');
  const localcaOptions = join(dir, 'swtpm-localca.options');
  const setupConf = join(dir, 'swtpm_setup.conf');
  await writeFile(
    localcaConf,
    [`statedir = ${caDir}`, `signingkey = ${caDir}/signkey.pem`, `issuercert = ${caDir}/issuercert.pem`, `certserial = ${caDir}/certserial`, ''].join('\n'),
  );
  await writeFile(localcaOptions, ['--platform-manufacturer Vigil', '--platform-version 2.1', '--platform-model vigil-test', ''].join('\n'));
  await writeFile(
    setupConf,
    [
      'create_certs_tool = /usr/bin/swtpm_localca',
      `create_certs_tool_config = ${localcaConf}`,
      `create_certs_tool_options = ${localcaOptions}`,
      `active_pcr_banks = ${pcrBanks}`,
      '',
    ].join('\n'),
  );
  const r = await run('swtpm_setup', [
    '--tpm2',
    '--tpmstate',
    stateDir,
    '--create-ek-cert',
    '--create-platform-cert',
    '--config',
    setupConf,
    '--pcr-banks',
    pcrBanks,
    '--write-ek-cert-files',
    certDir,
    '--overwrite',
  ]);
  if (r.code !== 0) throw new Error(`swtpm_setup failed (exit ${r.code}):\n${r.output}`);
  const ekCertificates: Record<string, Uint8Array> = {};
  for (const f of await readdir(certDir)) {
    const m = /^ek-(.+)\.crt$/.exec(f);
    if (m) ekCertificates[m[1]!] = new Uint8Array(await readFile(join(certDir, f)));
  }
  return {
    dir,
    stateDir,
    ekCaCert: await readFile(join(caDir, 'swtpm-localca-rootca-cert.pem'), 'utf8'),
    ekIssuerCert: await readFile(join(caDir, 'issuercert.pem'), 'utf8'),
    ekCertificates,
    pcrBanks: pcrBanks.split(','),
  };
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

/** Two consecutive free TCP ports on 127.0.0.1 (best effort: another process may take them before swtpm binds). */
async function freePortPair(): Promise<number> {
  const bind = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : undefined));
      });
    });
  for (let i = 0; i < 50; i++) {
    const p = await bind(0);
    if (p !== undefined && p < 65535 && (await bind(p + 1)) !== undefined) return p;
  }
  throw new Error('no pair of consecutive free TCP ports found');
}

// Runs swtpm under a watchdog shell: when our end of the shell's stdin
// closes (stop(), or this process dying for any reason), the watchdog
// SIGTERMs swtpm; the shell exits with swtpm's status.
const WATCHDOG = 'exec 3<&0; swtpm "$@" & p=$!; ( read _ <&3; kill $p 2>/dev/null ) & w=$!; wait $p; rc=$?; kill $w 2>/dev/null; exit $rc';

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  stderr: string;
}

function spawnSwtpm(args: readonly string[]): Running {
  const child = spawn('sh', ['-c', WATCHDOG, 'swtpm-watchdog', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  children.add(child);
  const r: Running = {
    child,
    stderr: '',
    exited: new Promise((resolve) => {
      child.once('exit', () => {
        children.delete(child);
        resolve();
      });
    }),
  };
  child.stderr!.on('data', (d: Buffer) => {
    if (r.stderr.length < 16_000) r.stderr += d.toString();
  });
  return r;
}

async function waitReady(r: Running, ctrl: SocketAddress): Promise<void> {
  let exited = false;
  void r.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`swtpm exited during start-up:\n${r.stderr}`);
    const c = new SwtpmControl(ctrl, 2_000);
    try {
      await c.capabilities();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`swtpm did not come up within 20 s: ${(e as Error).message}\n${r.stderr}`);
    } finally {
      await c.close();
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function kill(r: Running): Promise<void> {
  r.child.stdin?.end();
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 5_000);
  await r.exited;
  clearTimeout(timer);
}

/** Starts a manufactured swtpm; see the module comment. */
export async function startSwtpm(options: SwtpmOptions = {}): Promise<SwtpmInstance> {
  const pcrBanks = options.pcrBanks ?? 'sha1,sha256';
  const t = await template(pcrBanks, options.fresh === true);
  const dir = await tempDir('vigil-swtpm-');
  const stateDir = join(dir, 'state');
  await cp(t.stateDir, stateDir, { recursive: true });

  const tcp = options.transport === 'tcp';
  let data: SocketAddress;
  let ctrl: SocketAddress;
  let args: () => string[];
  const common = ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--flags', 'not-need-init,startup-clear', '--log', `file=${join(dir, 'swtpm.log')},level=1`];
  let running: Running | undefined;
  if (tcp) {
    // Retry with new ports if swtpm loses the race for them.
    for (let attempt = 1; ; attempt++) {
      const port = await freePortPair();
      data = { host: '127.0.0.1', port };
      ctrl = { host: '127.0.0.1', port: port + 1 };
      args = () => [...common, '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`];
      running = spawnSwtpm(args());
      try {
        await waitReady(running, ctrl);
        break;
      } catch (e) {
        await kill(running);
        if (attempt >= 5) throw e;
      }
    }
  } else {
    const dataPath = join(dir, 'data.sock');
    const ctrlPath = join(dir, 'ctrl.sock');
    data = { path: dataPath };
    ctrl = { path: ctrlPath };
    args = () => [...common, '--server', `type=unixio,path=${dataPath}`, '--ctrl', `type=unixio,path=${ctrlPath}`];
    running = spawnSwtpm(args());
    try {
      await waitReady(running, ctrl);
    } catch (e) {
      await kill(running);
      throw e;
    }
  }

  let current: Running | undefined = running;
  const dataAddr = data!;
  const ctrlAddr = ctrl!;
  const argv = args!;
  const uri = 'path' in dataAddr ? `swtpm:path=${dataAddr.path}` : `swtpm:host=${dataAddr.host},port=${dataAddr.port}`;

  const instance: SwtpmInstance = {
    uri,
    tcti: 'port' in dataAddr ? `swtpm:host=${dataAddr.host},port=${dataAddr.port}` : undefined,
    data: dataAddr,
    ctrl: ctrlAddr,
    dataPath: 'path' in dataAddr ? dataAddr.path : undefined,
    ctrlPath: 'path' in ctrlAddr ? ctrlAddr.path : undefined,
    host: 'host' in dataAddr ? dataAddr.host : undefined,
    port: 'port' in dataAddr ? dataAddr.port : undefined,
    ctrlPort: 'port' in ctrlAddr ? ctrlAddr.port : undefined,
    stateDir,
    ekCaCert: t.ekCaCert,
    ekIssuerCert: t.ekIssuerCert,
    ekCertificates: t.ekCertificates,
    pcrBanks: t.pcrBanks,
    connect: () => new Tpm(new SwtpmTransport(dataAddr)),
    control: () => new SwtpmControl(ctrlAddr),
    async powerCycle(tpm, opts) {
      if (!current) throw new Error('swtpm is stopped');
      if (tpm && opts?.orderly !== false) await tpm.execute(Shutdown, { shutdownType: TPM_SU.CLEAR });
      const c = new SwtpmControl(ctrlAddr);
      try {
        await c.init();
      } finally {
        await c.close();
      }
      if (tpm) {
        try {
          await tpm.execute(Startup, { startupType: TPM_SU.CLEAR });
        } catch (e) {
          if (!(e instanceof TpmResponseError && e.is(TPM_RC.INITIALIZE))) throw e;
        }
      }
    },
    async restart() {
      if (!current) throw new Error('swtpm is stopped');
      await kill(current);
      current = spawnSwtpm(argv());
      try {
        await waitReady(current, ctrlAddr);
      } catch (e) {
        await kill(current);
        current = undefined;
        throw e;
      }
    },
    async stop() {
      const r = current;
      current = undefined;
      if (r) await kill(r);
      await removeTempDir(dir);
    },
  };
  return instance;
}
