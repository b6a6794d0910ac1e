/**
 * What the agent benchmarks (`agent`, `tamper`) run on: real swtpms
 * manufactured with swtpm_setup (`@vigil/tpm2-ts/simulator`: EK certificates
 * from one local CA made for the run), the real Vigil server in-process (data directory from the built
 * `vigil-server init`, that CA trusted for EK certificates), and the built
 * `vigil-agent run` as a child process whose JSON log lines are parsed.
 * Nothing is simulated; only the clock and /proc are read.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { manufactureTpm, startSimulator, SwtpmManufacturer } from '@vigil/tpm2-ts/simulator';
import { createLogger, dataDir, generateEnrollmentToken, hashEnrollmentToken, startVigilServer, type DataDir, type RunningServer } from '@vigil/server';

const run = promisify(execFile);
const SERVER_CLI = fileURLToPath(new URL('../../server/dist/cli/vigil-server.cjs', import.meta.url));
const AGENT_CLI = fileURLToPath(new URL('../../agent/dist/cli/main.js', import.meta.url));
const AGENT_BUNDLE_SCRIPT = fileURLToPath(new URL('../../agent/scripts/bundle.mjs', import.meta.url));

/**
 * Builds the packaged agent (`agent/scripts/bundle.mjs`: esbuild over the tsc
 * output, what `agent/packaging/vigil-agent.service` runs) and returns the
 * path of its entry point.
 */
export async function bundleAgent(): Promise<string> {
  const { stdout } = await run(process.execPath, [AGENT_BUNDLE_SCRIPT]);
  return stdout.trim();
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: string | number };

/** Collects JSON log lines and lets the caller wait for one. */
export class LogStream {
  readonly lines: LogLine[] = [];
  readonly #waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  push(line: LogLine): void {
    this.lines.push(line);
    for (let i = this.#waiters.length - 1; i >= 0; i--) if (this.#waiters[i]!.match(line)) this.#waiters.splice(i, 1)[0]!.resolve(line);
  }

  waitFor(match: (l: LogLine) => boolean, timeoutMs = 120_000, what = 'a log line'): Promise<LogLine> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

/** Milliseconds of a pino `time` (ISO string or epoch ms). */
export function timeOf(l: LogLine): number {
  return typeof l.time === 'number' ? l.time : Date.parse(String(l.time));
}

/** One manufacturer (a local CA) whose TPMs this rig makes: `@vigil/tpm2-ts/simulator`. */
export async function makeTpmFactory(dir: string): Promise<{ caPem: () => Promise<string>; manufacture: (name: string) => Promise<Swtpm> }> {
  const manufacturer = await SwtpmManufacturer.open(join(dir, 'manufacturer'));
  return {
    caPem: async () => {
      const { rootPem, issuerPem } = await manufacturer.certificates();
      return rootPem + issuerPem;
    },
    manufacture: async (name) => {
      const tpm = await manufactureTpm({ stateDir: join(dir, 'tpms', name), manufacturer });
      const sim = await startSimulator({ stateDir: tpm.stateDir });
      return { uri: sim.uri, stop: () => sim.stop() };
    },
  };
}

export interface Swtpm {
  readonly uri: string;
  stop(): Promise<void>;
}

export interface BenchServer {
  readonly paths: DataDir;
  readonly logs: LogStream;
  readonly url: string;
  readonly running: RunningServer;
  newToken(): Promise<string>;
  stop(): Promise<void>;
}

/** The server in-process on 127.0.0.1, trusting `manufacturerCaPem` for EK certificates; `config` overrides by dotted path. */
export async function startBenchServer(root: string, manufacturerCaPem: string, config: Readonly<Record<string, unknown>> = {}, port = 0): Promise<BenchServer> {
  const paths = dataDir(join(root, 'server'));
  try {
    await readFile(paths.caCert);
  } catch {
    await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  }
  await writeFile(join(paths.root, 'tpm-manufacturers.pem'), manufacturerCaPem);
  const logs = new LogStream();
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => s.split('\n').forEach((t) => t.trim() && logs.push(JSON.parse(t) as LogLine)) } });
  const running = await startVigilServer({
    paths,
    logger,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag: 'bench' },
      { path: 'listen.port', value: port, flag: 'bench' },
      { path: 'enrollment.manufacturerCaFiles', value: ['tpm-manufacturers.pem'], flag: 'bench' },
      // The admin API is not what these exercise; on a free port so parallel runs do not collide on 8443.
      { path: 'admin.port', value: 0, flag: 'bench' },
      ...Object.entries(config).map(([path, value]) => ({ path, value, flag: 'bench' })),
    ],
  });
  return {
    paths,
    logs,
    url: `mqtts://localhost:${running.port}`,
    running,
    async newToken() {
      const token = generateEnrollmentToken();
      await running.context.store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, deviceName: null, actor: 'bench' });
      return token;
    },
    stop: () => running.stop(),
  };
}

export interface AgentChild {
  readonly child: ChildProcess;
  readonly logs: LogStream;
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * The node flags `agent/packaging/vigil-agent.service` runs the agent with:
 * V8's lite mode (no optimizing compiler: the agent's hot paths are native
 * hashing, TLS and TPM I/O), a 1 MiB young generation and one V8 helper
 * thread, with `PACKAGED_ENV`; compared with node's defaults in `agent`.
 */
export const PACKAGED_NODE_FLAGS: readonly string[] = ['--lite-mode', '--max-semi-space-size=1', '--v8-pool-size=1'];
/** The environment the unit sets: two libuv threads and two malloc arenas (fewer per-thread allocator pools). */
export const PACKAGED_ENV: Readonly<Record<string, string>> = { UV_THREADPOOL_SIZE: '2', MALLOC_ARENA_MAX: '2' };

/**
 * `vigil-agent run <args>` under `node <nodeFlags>` with a clean VIGIL_* environment, its stderr parsed as JSON lines.
 * `cli` is the entry point: the tsc output by default, or the bundle from `bundleAgent()`.
 */
export function startAgentProcess(args: readonly string[], nodeFlags: readonly string[] = PACKAGED_NODE_FLAGS, cli: string = AGENT_CLI): AgentChild {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_'))), ...(nodeFlags.length > 0 ? PACKAGED_ENV : {}) };
  const child = spawn(process.execPath, [...nodeFlags, cli, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const logs = new LogStream();
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        logs.push(JSON.parse(text) as LogLine);
      } catch {
        logs.push({ msg: text });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** CPU time (user + system, ms) and memory of a process, from /proc (proc(5)). */
export interface ProcSample {
  readonly at: number;
  readonly cpuMs: number;
  readonly rssBytes: number;
  readonly hwmBytes: number;
}

let clockTicks: number | undefined;

export async function sampleProcess(pid: number): Promise<ProcSample> {
  clockTicks ??= Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  // Fields after the command name (which may hold spaces) start at ')': utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { at: performance.now(), cpuMs: (ticks * 1000) / clockTicks, rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
