/**
 * Verifier replicas for the scale-out tests: data directories that share
 * one fleet CA (`vigil-server init` once, the CA copied to the others, as
 * an operator would), the configuration that puts a replica behind an
 * external broker and a shared PostgreSQL store, and replicas run either
 * in-process (`startVigilServer`) or as `vigil-server start` processes
 * (the built CLI) that a test can kill.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { loadFleetCaFiles, type FleetCa } from '@vigil/server';
import type { ConfigOverride } from '../../server/src/config/index.js';
import { dataDir, type DataDir } from '../../server/src/datadir.js';
import { makeTempDir } from './pki.js';

const run = promisify(execFile);
export const SERVER_CLI = join(import.meta.dirname, '..', '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

export interface ReplicaDirs {
  readonly ca: FleetCa;
  readonly dirs: ReadonlyMap<string, DataDir>;
  readonly root: string;
  cleanup(): Promise<void>;
}

/** One data directory per replica name, all with the same fleet CA (and CRL to start from). */
export async function makeReplicaDirs(names: readonly string[]): Promise<ReplicaDirs> {
  const tmp = await makeTempDir('vigil-replicas-');
  const dirs = new Map<string, DataDir>();
  const first = dataDir(join(tmp.path, names[0]!));
  await run(process.execPath, [SERVER_CLI, 'init', '--data', first.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  dirs.set(names[0]!, first);
  for (const name of names.slice(1)) {
    const paths = dataDir(join(tmp.path, name));
    await mkdir(paths.root, { recursive: true, mode: 0o700 });
    for (const f of ['caCert', 'caKey', 'crl', 'config'] as const) await copyFile(first[f], paths[f]);
    await chmod(paths.caKey, 0o600);
    dirs.set(name, paths);
  }
  return { ca: await loadFleetCaFiles(first), dirs, root: tmp.path, cleanup: tmp.cleanup };
}

export interface ReplicaSettings {
  readonly name: string;
  readonly brokerUrl: string;
  readonly storeUrl: string;
  readonly crlReloadCommand: readonly string[];
  readonly attestIntervalSeconds?: number;
  readonly heartbeatSeconds?: number;
}

/** The configuration of a replica, as overrides for an in-process server. */
export function replicaOverrides(s: ReplicaSettings): ConfigOverride[] {
  const o = (path: string, value: unknown): ConfigOverride => ({ path, value, flag: 'test' });
  return [
    o('listen.host', '127.0.0.1'),
    o('listen.port', 0),
    o('broker.mode', 'external'),
    o('broker.url', s.brokerUrl),
    o('broker.replicaName', s.name),
    o('broker.crlReloadCommand', [...s.crlReloadCommand]),
    o('broker.heartbeatSeconds', s.heartbeatSeconds ?? 1),
    o('store.url', s.storeUrl),
    ...(s.attestIntervalSeconds !== undefined ? [o('attestation.intervalSeconds', s.attestIntervalSeconds)] : []),
  ];
}

/** The same configuration as `VIGIL_*` environment variables, for a `vigil-server start` process. */
export function replicaEnv(s: ReplicaSettings): Record<string, string> {
  return {
    VIGIL_LISTEN_HOST: '127.0.0.1',
    VIGIL_LISTEN_PORT: '0',
    VIGIL_ADMIN_PORT: '0',
    VIGIL_BROKER_MODE: 'external',
    VIGIL_BROKER_URL: s.brokerUrl,
    VIGIL_BROKER_REPLICA_NAME: s.name,
    // Arrays are comma-separated in the environment; the command has no comma.
    VIGIL_BROKER_CRL_RELOAD_COMMAND: s.crlReloadCommand.join(','),
    VIGIL_BROKER_HEARTBEAT_SECONDS: String(s.heartbeatSeconds ?? 1),
    VIGIL_STORE_URL: s.storeUrl,
    ...(s.attestIntervalSeconds !== undefined ? { VIGIL_ATTESTATION_INTERVAL_SECONDS: String(s.attestIntervalSeconds) } : {}),
  };
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface ReplicaProcess {
  readonly name: string;
  readonly paths: DataDir;
  readonly child: ChildProcess;
  /** The "vigil-server ready" line. */
  readonly ready: LogLine;
  readonly lines: LogLine[];
  /** Resolves with the first log line (past or future) that matches. */
  waitFor(match: (l: LogLine) => boolean): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL now (no goodbye to the broker or the store). */
  kill(): Promise<void>;
}

/** Runs `vigil-server start` for a replica and resolves once it logged that it is ready. */
export async function startReplicaProcess(paths: DataDir, settings: ReplicaSettings, extraEnv: Record<string, string> = {}): Promise<ReplicaProcess> {
  const child = spawn(process.execPath, [SERVER_CLI, 'start', '--data', paths.root], {
    env: { ...process.env, ...replicaEnv(settings), VIGIL_LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let raw = '';
  createInterface({ input: child.stderr! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      raw += text + '\n';
      return;
    }
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.match(line)) waiters.splice(i, 1)[0]!.resolve(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (match: (l: LogLine) => boolean): Promise<LogLine> => {
    const found = lines.find(match);
    return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ match, resolve }));
  };
  const ready = await Promise.race([
    waitFor((l) => l.msg === 'vigil-server ready'),
    exited.then(({ code }) => {
      throw new Error(`replica ${settings.name} exited (${code}) before it was ready: ${raw}${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }),
  ]);
  return {
    name: settings.name,
    paths,
    child,
    ready,
    lines,
    waitFor,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
