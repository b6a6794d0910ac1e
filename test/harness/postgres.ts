/**
 * A throwaway PostgreSQL cluster for tests: `startPostgres()` runs `initdb`
 * into a temp dir and starts `postgres` listening on a Unix socket in that
 * dir only (no TCP port, so parallel test files never collide), with
 * durability switched off (fsync, synchronous_commit, full_page_writes:
 * a test cluster is thrown away, speed matters). PostgreSQL refuses to run
 * as root, so when the tests run as root the cluster runs as the `postgres`
 * OS user (Debian's package creates it).
 *
 *   const pg = await startPostgres();                 // undefined if PostgreSQL is not installed
 *   const url = await pg.createDatabase('t1');        // postgresql://vigil@localhost/t1?host=/tmp/...
 *   await pg.psql('t1', 'SELECT 1');                  // the cluster's own command-line client
 *   await pg.stop();                                  // in afterAll
 *
 * `postgres` runs under a watchdog shell: when our end of its stdin closes
 * (stop(), or this test process dying for any reason, even SIGKILL) the
 * watchdog stops the server and removes the temp dir.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The cluster's superuser (trust authentication on the private socket only). */
const SUPERUSER = 'vigil';

export interface PostgresCluster {
  /** Directory of the Unix socket (and the cluster's files). */
  readonly socketDir: string;
  /** Connection URL of a database of this cluster. */
  url(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Drops a database, disconnecting its sessions. */
  dropDatabase(name: string): Promise<void>;
  /** Runs SQL with `psql` (ON_ERROR_STOP, unaligned, tuples only: rows as `a|b` lines), as an operator with direct database access would. */
  psql(database: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

/** Debian installs each major version's server binaries under /usr/lib/postgresql/<major>/bin; the newest wins. */
export function findPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres')) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** True when the PostgreSQL server binaries are installed (tests that need them are skipped otherwise). */
export const postgresAvailable = findPostgresBinDir() !== undefined;

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

// Runs postgres under a watchdog: when our end of the shell's stdin closes, the
// watchdog asks postgres for a fast shutdown (SIGINT), waits, and removes the dir.
const WATCHDOG =
  'dir="$1"; shift; exec 3<&0; "$@" & p=$!; ( read _ <&3; kill -INT $p 2>/dev/null ) & w=$!; wait $p; rc=$?; kill $w 2>/dev/null; rm -rf "$dir"; exit $rc';

const clusters = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of clusters) c.stdin?.destroy();
});

/** Starts a cluster, or returns undefined when PostgreSQL is not installed. */
export async function startPostgres(): Promise<PostgresCluster | undefined> {
  const bin = findPostgresBinDir();
  if (bin === undefined) return undefined;
  const owner = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pg-'));
  const data = join(dir, 'data');
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const as = owner === undefined ? {} : { uid: owner.uid, gid: owner.gid };
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions'], {
      ...as,
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [
      "listen_addresses = ''",
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 300',
      'shared_buffers = 64MB',
      "log_min_messages = 'warning'",
      '',
    ].join('\n'),
  );
  if (owner !== undefined) chownSync(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);

  const child = spawn('sh', ['-c', WATCHDOG, 'pg-watchdog', dir, join(bin, 'postgres'), '-D', data], { ...as, cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
  clusters.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 16_000) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      clusters.delete(child);
      resolve();
    }),
  );

  const url = (database: string) => `postgresql://${SUPERUSER}@localhost/${encodeURIComponent(database)}?host=${encodeURIComponent(dir)}`;
  // Ready when the server accepts a connection on its socket.
  let up = false;
  void exited.then(() => {
    if (!up) stderr ||= 'postgres exited';
  });
  for (let attempt = 0; !up; attempt++) {
    if (child.exitCode !== null) throw new Error(`postgres did not start: ${stderr}`);
    const client = new pg.Client({ connectionString: url('postgres') });
    try {
      await client.connect();
      up = true;
    } catch {
      if (attempt > 300) {
        child.stdin!.end();
        throw new Error(`postgres did not accept connections within 30 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: url('postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
  const ident = (name: string) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a simple database name: ${name}`);
    return `"${name}"`;
  };

  return {
    socketDir: dir,
    url,
    async createDatabase(name) {
      await admin(`CREATE DATABASE ${ident(name)}`);
      return url(name);
    },
    async dropDatabase(name) {
      await admin(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    },
    async psql(database, sql) {
      const { stdout } = await run(join(bin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-U', SUPERUSER, '-d', database, '-c', sql]);
      return stdout;
    },
    async stop() {
      child.stdin!.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
