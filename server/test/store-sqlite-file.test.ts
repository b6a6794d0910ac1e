import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { randomId, timeOrderedId } from '@vigil/protocol';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, StoreError, type Store } from '../src/store/index.js';
import { migrations } from '../src/store/sqlite/migrations.js';
import { BackgroundCheckpointer } from '../src/store/sqlite/checkpointer.js';
import BetterSqlite3 from 'better-sqlite3';
import { expectUsesKeptAcrossMigration6 } from './challenge-uses-upgrade.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';

/**
 * What only the SQLite implementation has: a file (mode, WAL, migrations
 * on it) and several processes sharing it. Child processes run the built
 * store (`server/dist`, built by `tsc -b` before the tests).
 */

const run = promisify(execFile);
const builtStore = fileURLToPath(new URL('../dist/store/index.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'vigil-store-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
let path: string;
beforeEach(() => {
  const dir = join(root, `db-${++n}`);
  mkdirSync(dir, { mode: 0o700 });
  path = join(dir, 'vigil.db');
});

async function sql(query: string): Promise<string> {
  const { stdout } = await run('sqlite3', [path, query]);
  return stdout.trim();
}

const mode = (p: string): number => statSync(p).mode & 0o777;

/** The schema as migration `n` left it (a database of an older Vigil), as SQL to run before the rows a test adds. */
function atVersion(n: number): string {
  return `CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;
    ${migrations
      .slice(0, n)
      .map((m) => `${m.sql}; INSERT INTO schema_version VALUES (${m.version}, '${m.name}', 0);`)
      .join('\n')}`;
}

describe('SQLite store file', () => {
  it('is created with mode 0600 in WAL mode, and so are its -wal and -shm files', async () => {
    const store = await openSqliteStore(path);
    await store.appendAudit({ actor: 't', action: 'test.write', subject: 's' });
    expect(mode(path)).toBe(0o600);
    expect(existsSync(`${path}-wal`)).toBe(true);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(`${path}-shm`)).toBe(0o600);
    await store.close();
    expect(await sql('PRAGMA journal_mode')).toBe('wal');
  });

  it('tightens a database file that is readable by others', async () => {
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const store = await openSqliteStore(path);
    expect(mode(path)).toBe(0o600);
    await store.close();
  });

  it('migrates an empty database once, and reopening changes nothing', async () => {
    const store = await openSqliteStore(path);
    await store.close();
    expect(await sql('SELECT version, name FROM schema_version ORDER BY version')).toBe(migrations.map((m) => `${m.version}|${m.name}`).join('\n'));
    expect(migrations[0]!.name).toBe('initial schema');
    const tables = (await sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).split('\n');
    expect(tables).toEqual(
      expect.arrayContaining(['devices', 'enrollment_tokens', 'certificates', 'challenges', 'attestations', 'revocations', 'policies', 'policy_assignments', 'model_allowlist', 'boot_logs', 'audit_log', 'enrollment_sessions', 'admin_credentials', 'challenge_uses']),
    );
    // A challenge use is inserted and looked up by id only: one B-tree (WITHOUT ROWID), typed columns (STRICT).
    expect(await sql("SELECT wr, strict FROM pragma_table_list WHERE name = 'challenge_uses'")).toBe('1|1');
    const again = await openSqliteStore(path);
    await again.close();
    expect(await sql('SELECT count(*) FROM schema_version')).toBe(String(migrations.length));
  });

  it('migration 4 gives each challenge still open the clock its device has, so none escapes the clock check across the upgrade', async () => {
    // A database as version 3 left it: a device with a TPM clock, one without, and challenges of both.
    const [open, used, unclocked] = [randomId(), randomId(), randomId()];
    const far = Date.now() + 3_600_000;
    await sql(`${atVersion(3)}
      INSERT INTO devices (id, ek_public, ek_name, ak_public, ak_name, facts, tpm_clock, tpm_reset_count, tpm_restart_count, created_at, updated_at)
        VALUES ('dev-1', X'00', 'ek-1', X'00', 'ak-1', '{}', '18446744073709551615', 4, 2, 0, 0),
               ('dev-2', X'00', 'ek-2', X'00', 'ak-2', '{}', NULL, NULL, NULL, 0, 0);
      INSERT INTO challenges (id, device_id, nonce, pcr_selection, offsets, created_at, expires_at, used_at)
        VALUES ('${open}', 'dev-1', X'00', '{}', '{}', 0, ${far}, NULL),
               ('${used}', 'dev-1', X'00', '{}', '{}', 0, ${far}, 1),
               ('${unclocked}', 'dev-2', X'00', '{}', '{}', 0, ${far}, NULL);`);
    const store = await openSqliteStore(path);
    expect((await store.getChallenge(open))!.tpmClockAtIssue).toEqual({ clock: 2n ** 64n - 1n, resetCount: 4, restartCount: 2 });
    expect((await store.getChallenge(used))!.tpmClockAtIssue).toBeNull(); // answered already: never judged again
    expect((await store.getChallenge(unclocked))!.tpmClockAtIssue).toBeNull();
    await store.close();
    expect(await sql('SELECT max(version) FROM schema_version')).toBe(String(migrations.length));
  });

  it('migration 6 keeps every recorded challenge use (re-keyed by expiry), still a replay after the upgrade and pruned by expiry', async () => {
    // A database as version 5 left it: one device, an expired use and a live one.
    const [old, live] = [randomId(), randomId()];
    const far = Date.now() + 3_600_000;
    await sql(`${atVersion(5)}
      INSERT INTO devices (id, ek_public, ek_name, ak_public, ak_name, facts, created_at, updated_at)
        VALUES ('dev-1', X'00', 'ek-1', X'00', 'ak-1', '{}', 0, 0);
      INSERT INTO challenge_uses (id, device_id, used_at, expires_at) VALUES ('${old}', 'dev-1', 5, 10), ('${live}', 'dev-1', 5, ${far});`);
    const store = await openSqliteStore(path);
    await expectUsesKeptAcrossMigration6(store, { old, live, far });
    await store.close();
    expect(await sql(`SELECT group_concat(name, ',') FROM pragma_index_info((SELECT name FROM pragma_index_list('challenge_uses') WHERE origin = 'pk'))`)).toBe('expires_at,id');
  });

  it('migration 7 links every recorded attestation into its device’s history, which lists, pages, grows and prunes as before', async () => {
    // A database as version 6 left it: two devices' attestations interleaved, and a device with none.
    const rows = Array.from({ length: 9 }, (_, i) => ({ id: i + 1, device: i % 3 === 2 ? 'dev-2' : 'dev-1', at: 1_000 + i }));
    await sql(`${atVersion(6)}
      INSERT INTO devices (id, ek_public, ek_name, ak_public, ak_name, facts, created_at, updated_at)
        VALUES ('dev-1', X'00', 'ek-1', X'00', 'ak-1', '{}', 0, 0), ('dev-2', X'00', 'ek-2', X'00', 'ak-2', '{}', 0, 0),
               ('dev-3', X'00', 'ek-3', X'00', 'ak-3', '{}', 0, 0);
      INSERT INTO attestations (id, device_id, received_at, evidence_digest, status, reasons) VALUES
        ${rows.map((r) => `(${r.id}, '${r.device}', ${r.at}, '${'0'.repeat(64)}', 'affirming', '[]')`).join(', ')};`);
    const store = await openSqliteStore(path);
    const of = (device: string) => rows.filter((r) => r.device === device).map((r) => r.id).reverse();
    expect((await store.listAttestations('dev-1', 100)).map((a) => a.id)).toEqual(of('dev-1'));
    expect((await store.listAttestations('dev-2', 100)).map((a) => a.id)).toEqual(of('dev-2'));
    expect(await store.listAttestations('dev-3')).toEqual([]);
    expect((await store.listAttestations('dev-1', 2, 5)).map((a) => a.id)).toEqual([4, 2]);
    // A new verdict extends the migrated chain; the prune keeps each device's newest.
    const r = await store.recordAttestation({
      attestation: { deviceId: 'dev-2', challengeId: null, receivedAt: 5_000, evidenceDigest: 'a'.repeat(64), status: 'none', verdict: null, error: { code: 'schema', message: 'x' }, policy: null, tpmClock: null },
      actor: 'verifier',
    });
    expect((await store.listAttestations('dev-2', 100)).map((a) => a.id)).toEqual([r.attestation.id, ...of('dev-2')]);
    expect(await store.pruneAttestations(2_000)).toBe(8);
    expect((await store.listAttestations('dev-1', 100)).map((a) => a.id)).toEqual([8]);
    expect((await store.listAttestations('dev-2', 100)).map((a) => a.id)).toEqual([r.attestation.id]);
    await store.close();
    expect(await sql(`SELECT count(*) FROM pragma_index_list('attestations')`)).toBe('0');
  });

  it('refuses a database from a newer Vigil, a missing one when asked not to create, and a file that is not a database', async () => {
    await (await openSqliteStore(path)).close();
    await sql(`INSERT INTO schema_version VALUES (99, 'from the future', 0)`);
    await expect(openSqliteStore(path)).rejects.toMatchObject({ code: 'schema-too-new' });

    const missing = join(root, 'nowhere.db');
    await expect(openSqliteStore(missing, { create: false })).rejects.toMatchObject({ code: 'missing' });
    expect(existsSync(missing)).toBe(false);

    const garbage = join(root, 'garbage.db');
    writeFileSync(garbage, randomBytes(8192));
    const err = await openSqliteStore(garbage).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('io');
  });

  it('keeps only the hash of an enrollment token', async () => {
    const store = await openSqliteStore(path);
    const token = generateEnrollmentToken();
    await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 60_000, actor: 't' });
    await store.close(); // checkpoints the WAL into the file
    const bytes = readFileSync(path);
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    expect(bytes.includes(Buffer.from(token.slice(4)))).toBe(false);
    expect(bytes.includes(Buffer.from(hashEnrollmentToken(token)))).toBe(true);
  });

  it('keeps statement journals and temporary tables in memory, never in temp files', async () => {
    // A batch's savepoints journal every page they change; on disk that journal spilled to a temp file
    // (open, unlink, writes, close) in every transaction past 64 KiB (docs/benchmarks.md, twenty-third round).
    const store = await openSqliteStore(path);
    // The connection is the store's own (per-connection setting): read through it.
    const db = (store as unknown as { db: BetterSqlite3.Database }).db;
    expect(db.pragma('temp_store', { simple: true })).toBe(2); // 2 = MEMORY
    await store.close();
  });

  it('the durability option selects synchronous=FULL (and still works)', async () => {
    const store = await openSqliteStore(path, { durability: 'full' });
    await store.appendAudit({ actor: 't', action: 'test.write', subject: 's' });
    expect((await store.verifyAuditChain()).ok).toBe(true);
    await store.close();
  });
});

// ── several processes on one file ─────────────────────────────────────────

/**
 * A child process that opens the built store, says "ready", waits for "go"
 * on stdin (so all children start racing together), runs `body`, prints its
 * result as JSON and exits.
 */
function child(body: string, env: Record<string, string>): { proc: ChildProcessWithoutNullStreams; ready: Promise<void>; result: Promise<unknown> } {
  const script = `
    const { openSqliteStore } = await import(process.env.STORE_MODULE);
    const store = await openSqliteStore(process.env.DB);
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    const result = await (async () => { ${body} })();
    await store.close();
    process.stdout.write(JSON.stringify(result) + '\\n');
    process.exit(0);
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, STORE_MODULE: builtStore, DB: path, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: proc.stdout });
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<unknown>((resolve, reject) => {
    lines.on('line', (line) => (line === 'ready' ? onReady() : resolve(JSON.parse(line))));
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
  return { proc, ready, result };
}

async function race(count: number, body: string, env: Record<string, string> = {}): Promise<unknown[]> {
  const children = Array.from({ length: count }, () => child(body, env));
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin.write('go\n');
  return Promise.all(children.map((c) => c.result));
}

async function seeded(fn: (s: Store) => Promise<void>): Promise<void> {
  const s = await openSqliteStore(path);
  await fn(s);
  await s.close();
}

describe('SQLite store shared by several processes', () => {
  it('four processes migrating a new file at once leave one schema', async () => {
    const results = await race(4, `return (await store.verifyAuditChain()).ok;`);
    expect(results).toEqual([true, true, true, true]);
    expect(await sql('SELECT count(*) FROM schema_version')).toBe(String(migrations.length));
  });

  it('a token with 10 uses is consumed exactly 10 times by 4 processes trying 25 times each', async () => {
    const token = generateEnrollmentToken();
    await seeded(async (s) => {
      await s.createToken({ hash: hashEnrollmentToken(token), maxUses: 10, expiresAt: Date.now() + 600_000, actor: 't' });
    });
    const results = (await race(
      4,
      `let ok = 0; for (let i = 0; i < 25; i++) if ((await store.consumeToken(process.env.HASH, Date.now())).ok) ok++; return ok;`,
      { HASH: hashEnrollmentToken(token) },
    )) as number[];
    expect(results.reduce((a, b) => a + b, 0)).toBe(10);
    expect(await sql('SELECT uses FROM enrollment_tokens')).toBe('10');
  });

  it('a challenge is consumed once across 4 processes', async () => {
    const challengeId = randomId();
    await seeded(async (s) => {
      await enrollPlaceholderDevice(s, 'dev-1');
      await s.createChallenge({ id: challengeId, deviceId: 'dev-1', nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: Date.now() + 600_000 });
    });
    const results = (await race(
      4,
      `let ok = 0; for (let i = 0; i < 5; i++) if ((await store.consumeChallenge(process.env.CID, 'dev-1', Date.now())).ok) ok++; return ok;`,
      { CID: challengeId },
    )) as number[];
    expect(results.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('a sealed challenge is used once across 4 processes', async () => {
    const challengeId = timeOrderedId() + randomBytes(30).toString('base64url');
    await seeded(async (s) => {
      await enrollPlaceholderDevice(s, 'dev-1');
    });
    const results = (await race(
      4,
      `let first = 0;
       for (let i = 0; i < 5; i++) if (await store.useChallenge({ id: process.env.CID, deviceId: 'dev-1', usedAt: Date.now(), expiresAt: Number(process.env.EXPIRES) })) first++;
       return first;`,
      // One id, one expiry: the expiry is part of a sealed id (and of the use's key).
      { CID: challengeId, EXPIRES: String(Date.now() + 60_000) },
    )) as number[];
    expect(results.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await sql(`SELECT count(*) FROM challenge_uses WHERE id = '${challengeId}'`)).toBe('1');
  });

  it('audit appends from 4 processes form one linear, verifiable chain', async () => {
    const results = (await race(
      4,
      `for (let i = 0; i < 50; i++) await store.appendAudit({ actor: 'p' + process.pid, action: 'test.append', subject: 'n:' + i }); return true;`,
    )) as boolean[];
    expect(results).toEqual([true, true, true, true]);
    const store = await openSqliteStore(path);
    expect(await store.verifyAuditChain()).toMatchObject({ ok: true, entries: 200 });
    const actors = new Set((await store.listAudit({ limit: 1000 })).map((e) => e.actor));
    expect(actors.size).toBe(4);
    await store.close();
  });

  it('everything a process reported committed survives SIGKILL', async () => {
    await seeded(async () => {});
    const script = `
      const { openSqliteStore } = await import(process.env.STORE_MODULE);
      const store = await openSqliteStore(process.env.DB);
      for (let i = 0; ; i++) {
        const e = await store.appendAudit({ actor: 'writer', action: 'test.commit', subject: 'n:' + i });
        process.stdout.write(e.seq + '\\n');
      }
    `;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, STORE_MODULE: builtStore, DB: path }, stdio: ['ignore', 'pipe', 'inherit'] });
    let lastReported = 0;
    await new Promise<void>((resolve) => {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        lastReported = Number(line);
        if (lastReported >= 300 && proc.exitCode === null && !proc.killed) {
          proc.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => proc.once('exit', resolve));
    expect(proc.signalCode).toBe('SIGKILL');
    const store = await openSqliteStore(path);
    const chain = await store.verifyAuditChain();
    expect(chain.ok).toBe(true);
    expect(chain.entries).toBeGreaterThanOrEqual(lastReported);
    await store.close();
  });
});

describe('background WAL checkpoints (the server)', () => {
  async function fill(store: Store, devices: number): Promise<void> {
    const token = generateEnrollmentToken();
    await store.createToken({ hash: hashEnrollmentToken(token), maxUses: devices, expiresAt: Date.now() + 60_000, actor: 'test' });
    for (let i = 0; i < devices; i++) {
      const r = await store.enrollDevice({
        tokenHash: hashEnrollmentToken(token),
        device: { id: `ckpt-${i}`, ekPublic: randomBytes(300), ekName: '000b' + randomBytes(32).toString('hex'), ekCertificate: randomBytes(900), akPublic: randomBytes(90), akName: '000b' + randomBytes(32).toString('hex'), facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '0', tpm: { manufacturer: 'm', firmwareVersion: '0' } } },
        certificate: { serial: (i + 1).toString(16), notBefore: Date.now(), notAfter: Date.now() + 60_000, pem: 'x'.repeat(800) },
        actor: 'test',
      });
      expect(r.ok).toBe(true);
    }
  }

  it('the writer never checkpoints; a worker thread copies the WAL into the database file; stop ends it', async () => {
    const db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v BLOB)');
    const checkpointer = BackgroundCheckpointer.start(db, path, { busyTimeoutMs: 5000, synchronous: 'NORMAL', intervalMs: 50 });
    expect(checkpointer?.running).toBe(true);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    // 3000 pages of WAL: three times what SQLite would let grow before checkpointing in a commit.
    for (let i = 0; i < 3000; i++) insert.run(randomBytes(3000));
    await expect.poll(() => statSync(path).size, { timeout: 10_000, interval: 50 }).toBeGreaterThan(before + 8_000_000);
    await checkpointer!.stop();
    expect(checkpointer!.running).toBe(false);
    db.close();
  });

  it('a process whose last act is closing the store waits for the checkpoint worker and exits 0', async () => {
    const script = `import { openSqliteStore } from ${JSON.stringify(builtStore)};
const store = await openSqliteStore(${JSON.stringify(path)}, { backgroundCheckpoints: true });
await store.close();
console.log('closed');`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('closed');
  });

  it('the server store keeps every commit through background checkpoints and closes cleanly', async () => {
    const store = await openSqliteStore(path, { backgroundCheckpoints: true });
    await fill(store, 1500);
    expect((await store.listDevices()).length).toBe(1500);
    await store.close();
    expect(await sql('SELECT count(*) FROM devices')).toBe('1500');
  });

  it('without the option the store checkpoints inline, as SQLite does by default', async () => {
    const store = await openSqliteStore(path);
    const before = statSync(path).size;
    await fill(store, 1500);
    // The commit that took the WAL past 1000 pages copied it into the file on the spot.
    expect(statSync(path).size).toBeGreaterThan(before + 1_000_000);
    await store.close();
  });
});
