// The scale-out rig for `npm run bench -- replicas`: PostgreSQL, Mosquitto
// (deploy/mosquitto/mosquitto.conf with the port and file locations
// changed) and `vigil-server start` replicas in external-broker mode, set
// up the way docs/deployment.md tells an operator to (vigil-server init,
// broker server-certificate, broker dynsec-config). The devices come from
// the fleet simulator (./fleet).
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dataDir, loadFleetCaFiles, type DataDir, type FleetCa } from '@vigil/server';
import { findDynsecPlugin, mosquittoConf } from './mosquitto-conf.js';
import { childrenOf } from './proc-children.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_CLI = join(ROOT, 'server', 'dist', 'cli', 'vigil-server.cjs');
const INSTALL_CRL = join(ROOT, 'deploy', 'mosquitto', 'install-crl.sh');

/** A process we started and the CPU time it and its children used, read from /proc. */
export interface Tracked {
  readonly pid: number;
  /** CPU seconds (user + system) of the process and every descendant alive now. */
  cpuSeconds(): number;
}

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime are fields 14 and 15 of stat(5); cutime/cstime (16, 17) count reaped children.
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
  } catch {
    return 0;
  }
}

export function track(pid: number): Tracked {
  return {
    pid,
    cpuSeconds() {
      let total = 0;
      const stack = [pid];
      while (stack.length > 0) {
        const p = stack.pop()!;
        total += cpuOf(p);
        stack.push(...childrenOf(p));
      }
      return total;
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The OS user a service runs as when we are root (PostgreSQL refuses root; Mosquitto would switch anyway). */
function userIds(name: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return { uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })) };
}

const WATCHDOG = 'exec 3<&0; "$@" & p=$!; ( read _ <&3; kill -INT $p 2>/dev/null ) & w=$!; wait $p; rc=$?; kill $w 2>/dev/null; exit $rc';

function service(args: readonly string[], as: { uid: number; gid: number } | undefined, cwd: string): ChildProcess {
  const child = spawn('sh', ['-c', WATCHDOG, 'bench-service', ...args], { ...(as ?? {}), cwd, stdio: ['pipe', 'ignore', 'ignore'] });
  return child;
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  await exited;
}

export interface Replica {
  readonly name: string;
  readonly process: Tracked;
  /** Resolves when the replica logs a line containing `text` (from its start). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ScaleOutRig {
  readonly storeUrl: string;
  readonly brokerPort: number;
  readonly ca: FleetCa;
  readonly postgres: Tracked;
  readonly mosquitto: Tracked;
  startReplica(name: string): Promise<Replica>;
  stop(): Promise<void>;
}

/** PostgreSQL + Mosquitto + a data directory per replica name; replicas start on demand. */
export async function startScaleOutRig(replicaNames: readonly string[]): Promise<ScaleOutRig> {
  const root = mkdtempSync(join(tmpdir(), 'vigil-bench-scale-'));
  // PostgreSQL and Mosquitto run as their own users: they may pass through (not list) the rig's directory.
  chmodSync(root, 0o711);
  const services: ChildProcess[] = [];
  const replicas: Array<{ child: ChildProcess; stop(): Promise<void> }> = [];
  const cleanup = async () => {
    for (const r of replicas) await r.stop();
    for (const s of services.reverse()) await stopService(s);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // PostgreSQL: a throwaway cluster on a Unix socket in the rig's directory.
    const pgBin = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
    if (pgBin === undefined) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
    const bin = join('/usr/lib/postgresql', pgBin, 'bin');
    const pgDir = join(root, 'pg');
    mkdirSync(pgDir);
    const pgUser = userIds('postgres');
    if (pgUser !== undefined) chownSync(pgDir, pgUser.uid, pgUser.gid);
    await run(join(bin, 'initdb'), ['-D', join(pgDir, 'data'), '-U', 'vigil', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { ...(pgUser ?? {}), cwd: pgDir });
    // Durability as a production server has it (fsync on): what a commit costs is part of the figure.
    writeFileSync(join(pgDir, 'data', 'postgresql.auto.conf'), `listen_addresses = ''\nunix_socket_directories = '${pgDir}'\nmax_connections = 200\n`);
    const postgres = service([join(bin, 'postgres'), '-D', join(pgDir, 'data')], pgUser, pgDir);
    services.push(postgres);
    const storeUrl = `postgresql://vigil@localhost/postgres?host=${encodeURIComponent(pgDir)}`;
    await until('PostgreSQL', () => existsSync(join(pgDir, '.s.PGSQL.5432')));
    await new Promise((r) => setTimeout(r, 300));

    // Data directories: one fleet CA, copied to every replica.
    const dirs = new Map<string, DataDir>();
    const first = dataDir(join(root, replicaNames[0]!));
    await run(process.execPath, [SERVER_CLI, 'init', '--data', first.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
    dirs.set(replicaNames[0]!, first);
    for (const name of replicaNames.slice(1)) {
      const d = dataDir(join(root, name));
      mkdirSync(d.root, { mode: 0o700 });
      for (const f of ['caCert', 'caKey', 'crl', 'config'] as const) copyFileSync(first[f], d[f]);
      dirs.set(name, d);
    }
    const ca = await loadFleetCaFiles(first);

    // Mosquitto: its certificate and dynamic-security file from the operator commands.
    const mqDir = join(root, 'mosquitto');
    await run(process.execPath, [SERVER_CLI, 'broker', 'server-certificate', '--data', first.root, '--san', 'localhost', '--san', '127.0.0.1', '--out-dir', mqDir]);
    await run(process.execPath, [SERVER_CLI, 'broker', 'dynsec-config', ...replicaNames.flatMap((n) => ['--replica', n]), '--out', join(mqDir, 'dynamic-security.json')]);
    const port = await freePort();
    const plugin = findDynsecPlugin();
    if (plugin === undefined) throw new Error('the Mosquitto dynamic-security plugin is not installed (apt-get install mosquitto)');
    const conf = mosquittoConf({
      dir: mqDir,
      port,
      plugin,
      extra: [
        ...(process.env['VIGIL_BENCH_DEBUG'] === '1' ? [`log_dest file ${join(tmpdir(), 'vigil-bench-mosquitto.log')}`, 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'] : ['log_dest none']),
        'persistence false',
      ],
    });
    writeFileSync(join(mqDir, 'mosquitto.conf'), conf);
    const mqUser = userIds('mosquitto');
    if (mqUser !== undefined) for (const f of ['', ...readdirSync(mqDir)]) chownSync(join(mqDir, f), mqUser.uid, mqUser.gid);
    const mosquitto = service(['mosquitto', '-c', join(mqDir, 'mosquitto.conf')], mqUser, mqDir);
    services.push(mosquitto);
    await until('Mosquitto', () => new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    }));

    const rig: ScaleOutRig = {
      storeUrl,
      brokerPort: port,
      ca,
      postgres: track(postgres.pid!),
      mosquitto: track(mosquitto.pid!),
      async startReplica(name) {
        const paths = dirs.get(name)!;
        const child = spawn(process.execPath, [SERVER_CLI, 'start', '--data', paths.root], {
          env: {
            ...process.env,
            VIGIL_LISTEN_HOST: '127.0.0.1',
            VIGIL_LISTEN_PORT: '0',
            VIGIL_ADMIN_PORT: '0',
            VIGIL_BROKER_MODE: 'external',
            VIGIL_BROKER_URL: `mqtts://localhost:${port}`,
            VIGIL_BROKER_REPLICA_NAME: name,
            VIGIL_BROKER_CRL_RELOAD_COMMAND: [INSTALL_CRL, join(mqDir, 'crl.pem'), join(mqDir, 'mosquitto.pid')].join(','),
            VIGIL_BROKER_HEARTBEAT_SECONDS: '1',
            VIGIL_STORE_URL: storeUrl,
            VIGIL_STORE_POOL_SIZE: '8',
            // Only the devices' own requests drive the load: periodic challenges as rare as the configuration allows
            // (a scheduled challenge on top of a device's own would put two answers of one device in flight at once).
            VIGIL_ATTESTATION_INTERVAL_SECONDS: '86400',
            VIGIL_LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let output = '';
        let ready = false;
        const seen: string[] = [];
        createInterface({ input: child.stderr! }).on('line', (l) => {
          if (output.length < 20_000) output += l + '\n';
          if (seen.length < 10_000) seen.push(l);
          if (process.env['VIGIL_BENCH_DEBUG'] === '1' && /"level":(4|5|6)0/.test(l)) process.stderr.write(`[${name}] ${l}\n`);
          if (l.includes('"vigil-server ready"')) ready = true;
        });
        const handle = {
          child,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await exited;
          },
        };
        replicas.push(handle);
        await until(`replica ${name} to start`, () => {
          if (child.exitCode !== null) throw new Error(`replica ${name} exited: ${output}`);
          return ready;
        }, 60_000);
        return {
          name,
          process: track(child.pid!),
          waitFor: (text, timeoutMs = 60_000) => until(`replica ${name} to log ${text}`, () => seen.some((l) => l.includes(text)), timeoutMs),
          stop: () => handle.stop(),
        };
      },
      stop: cleanup,
    };
    return rig;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
