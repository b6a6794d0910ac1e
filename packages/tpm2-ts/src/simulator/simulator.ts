import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Shutdown, Startup } from '../commands/startup.js';
import { TPM_RC } from '../constants/rc.js';
import { TPM_SU } from '../constants/st.js';
import { TpmResponseError } from '../errors.js';
import { Tpm } from '../tpm.js';
import { SwtpmControl } from '../transports/swtpm-control.js';
import { SwtpmTransport } from '../transports/swtpm.js';
import type { SocketAddress } from '../transports/stream.js';
import { SimulatorError } from './errors.js';
import { freePortPair } from './ports.js';
import { findSwtpmTools, type SwtpmTools } from './tools.js';
import { spawnWatched, type WatchedProcess } from './watchdog.js';

export interface SimulatorOptions {
  /** The TPM's state folder, as `manufactureTpm` made it. */
  readonly stateDir: string;
  /**
   * `unix` (default): data and control channels on Unix sockets in `runDir`;
   * `tcp`: 127.0.0.1 on free ports, control port = data port + 1 (what
   * tpm2-tools' swtpm TCTI expects).
   */
  readonly transport?: 'unix' | 'tcp';
  /** Where the sockets and `swtpm.log` go (default: `stateDir`). */
  readonly runDir?: string;
  /** How long swtpm may take to answer on its control channel (default 20 s). */
  readonly startTimeoutMs?: number;
  readonly tools?: Partial<SwtpmTools>;
}

/** A running swtpm: how to reach it, and its power switch. */
export interface SwtpmSimulator {
  /** TPM URI for `openTpm()` and `vigil-agent --tpm`: `swtpm:path=...` or `swtpm:host=127.0.0.1,port=N`. */
  readonly uri: string;
  /** tpm2-tools TCTI string (TCP only): `swtpm:host=127.0.0.1,port=N`. */
  readonly tcti: string | undefined;
  readonly data: SocketAddress;
  readonly ctrl: SocketAddress;
  readonly stateDir: string;
  /** True while swtpm runs. */
  readonly running: boolean;
  /** A new connection (swtpm serves one data connection at a time: a second waits until the first closes). */
  connect(): Tpm;
  /** A control channel client. */
  control(): SwtpmControl;
  /**
   * A power cycle through the control channel (TPM_Init): PCRs reset,
   * transient objects and sessions gone, resetCount up at the next
   * Startup(CLEAR). swtpm serves one data connection at a time, so pass the
   * connection in use as `tpm`: Shutdown(CLEAR) is sent through it before
   * (unless `orderly: false`) and Startup(CLEAR) after. Without `tpm` the
   * caller sends TPM2_Startup.
   */
  powerCycle(tpm?: Tpm, options?: { readonly orderly?: boolean }): Promise<void>;
  /** Kills swtpm and starts it again on the same state and addresses (persistent state survives; swtpm sends Startup(CLEAR)). */
  restart(): Promise<void>;
  /** Kills swtpm. Idempotent. Leaves the state folder in place. */
  stop(): Promise<void>;
}

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

async function waitReady(p: WatchedProcess, ctrl: SocketAddress, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (p.hasExited()) throw new SimulatorError('start-failed', 'swtpm exited while starting', p.stderr());
    const c = new SwtpmControl(ctrl, 2_000);
    try {
      await c.capabilities();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new SimulatorError('start-failed', `swtpm did not answer on its control channel within ${timeoutMs} ms: ${(e as Error).message}`, p.stderr());
    } finally {
      await c.close();
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `swtpm socket` on a manufactured state (`--flags
 * not-need-init,startup-clear`: it comes up powered on and started, like a
 * TPM after firmware's TPM2_Startup). swtpm runs under a watchdog, so it
 * ends when this process does, however it ends.
 */
export async function startSimulator(options: SimulatorOptions): Promise<SwtpmSimulator> {
  const tools = await findSwtpmTools(options.tools);
  const stateDir = resolve(options.stateDir);
  const runDir = resolve(options.runDir ?? stateDir);
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  const common = ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--flags', 'not-need-init,startup-clear', '--log', `file=${join(runDir, 'swtpm.log')},level=1`];

  let data: SocketAddress;
  let ctrl: SocketAddress;
  let argv: string[];
  let current: WatchedProcess | undefined;
  if (options.transport === 'tcp') {
    // Another process may take the ports between the probe and swtpm's bind: try again with new ones.
    for (let attempt = 1; ; attempt++) {
      const port = await freePortPair('127.0.0.1');
      data = { host: '127.0.0.1', port };
      ctrl = { host: '127.0.0.1', port: port + 1 };
      argv = [...common, '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`];
      current = spawnWatched(tools.swtpm, argv);
      try {
        await waitReady(current, ctrl, timeoutMs);
        break;
      } catch (e) {
        await current.stop();
        if (attempt >= 5) throw e;
      }
    }
  } else {
    const dataPath = join(runDir, 'data.sock');
    const ctrlPath = join(runDir, 'ctrl.sock');
    if (Buffer.byteLength(dataPath) > MAX_SOCKET_PATH) {
      throw new SimulatorError('socket-path-too-long', `Unix socket path ${dataPath} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter runDir or transport 'tcp'`);
    }
    data = { path: dataPath };
    ctrl = { path: ctrlPath };
    argv = [...common, '--server', `type=unixio,path=${dataPath}`, '--ctrl', `type=unixio,path=${ctrlPath}`];
    current = spawnWatched(tools.swtpm, argv);
    try {
      await waitReady(current, ctrl, timeoutMs);
    } catch (e) {
      await current.stop();
      throw e;
    }
  }

  const dataAddr = data!;
  const ctrlAddr = ctrl!;
  const args = argv!;
  const uri = 'path' in dataAddr ? `swtpm:path=${dataAddr.path}` : `swtpm:host=${dataAddr.host},port=${dataAddr.port}`;
  const alive = (): WatchedProcess => {
    if (current === undefined) throw new SimulatorError('stopped', `swtpm for ${stateDir} is stopped`);
    return current;
  };

  return {
    uri,
    tcti: 'port' in dataAddr ? uri : undefined,
    data: dataAddr,
    ctrl: ctrlAddr,
    stateDir,
    get running() {
      return current !== undefined && !current.hasExited();
    },
    connect: () => new Tpm(new SwtpmTransport(dataAddr)),
    control: () => new SwtpmControl(ctrlAddr),
    async powerCycle(tpm, opts) {
      alive();
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
      await alive().stop();
      current = spawnWatched(tools.swtpm, args);
      try {
        await waitReady(current, ctrlAddr, timeoutMs);
      } catch (e) {
        await current.stop();
        current = undefined;
        throw e;
      }
    },
    async stop() {
      const p = current;
      current = undefined;
      if (p) await p.stop();
    },
  };
}
