import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomId, timeOrderedId } from '@vigil/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type PostgresCluster } from '../../test/harness/postgres.js';
import { generateEnrollmentToken, hashEnrollmentToken, openPostgresStore, StoreError, type Store } from '../src/store/index.js';
import { pgMigrations } from '../src/store/postgres/migrations.js';
import { migrations as sqliteMigrations } from '../src/store/sqlite/migrations.js';
import { expectUsesKeptAcrossMigration6 } from './challenge-uses-upgrade.js';

/**
 * What only the PostgreSQL implementation has: a server reached over a
 * connection string, migrations under an advisory lock, and verifier
 * replicas in several processes sharing one database. Child processes run
 * the built store (`server/dist`, built by `tsc -b` before the tests).
 */

const builtStore = fileURLToPath(new URL('../dist/store/index.js', import.meta.url));
let pg: PostgresCluster;
let n = 0;
let db: string;
let url: string;

beforeAll(async () => {
  if (!postgresAvailable) return;
  pg = (await startPostgres())!;
});
afterAll(async () => {
  await pg?.stop();
});
beforeEach(async () => {
  if (!postgresAvailable) return;
  db = `c_${++n}_${randomBytes(3).toString('hex')}`;
  url = await pg.createDatabase(db);
});

/** One query through psql: rows as `a|b` lines. */
async function sql(query: string): Promise<string> {
  return (await pg.psql(db, query)).trim();
}

/** The schema as migration `n` left it (a database of an older Vigil), as SQL to run before the rows a test adds. */
function atVersion(n: number): string {
  return `CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
    ${pgMigrations
      .slice(0, n)
      .map((m) => `${m.sql}; INSERT INTO schema_version VALUES (${m.version}, '${m.name}', 0);`)
      .join('\n')}`;
}

describe.skipIf(!postgresAvailable)('PostgreSQL store on a server', () => {
  it('migrates an empty database once, to the same schema versions as SQLite, and reopening changes nothing', async () => {
    expect(pgMigrations.map((m) => `${m.version} ${m.name}`)).toEqual(sqliteMigrations.map((m) => `${m.version} ${m.name}`));
    const store = await openPostgresStore(url);
    await store.close();
    expect(await sql('SELECT version, name FROM schema_version ORDER BY version')).toBe(pgMigrations.map((m) => `${m.version}|${m.name}`).join('\n'));
    const again = await openPostgresStore(url);
    await again.close();
    expect(await sql('SELECT count(*) FROM schema_version')).toBe(String(pgMigrations.length));
  });

  it('eight replicas starting at once migrate a new database exactly once', async () => {
    const stores = await Promise.all(Array.from({ length: 8 }, () => openPostgresStore(url, { poolSize: 2 })));
    await Promise.all(stores.map((s) => s.close()));
    expect(await sql('SELECT count(*), count(DISTINCT version) FROM schema_version')).toBe(`${pgMigrations.length}|${pgMigrations.length}`);
  });

  it('migration 4 gives each challenge still open the clock its device has, so none escapes the clock check across the upgrade', async () => {
    // A database as version 3 left it: a device with a TPM clock, one without, and challenges of both.
    const [open, used, unclocked] = [randomId(), randomId(), randomId()];
    const far = Date.now() + 3_600_000;
    await sql(`${atVersion(3)}
      INSERT INTO devices (id, ek_public, ek_name, ak_public, ak_name, facts, tpm_clock, tpm_reset_count, tpm_restart_count, created_at, updated_at)
        VALUES ('dev-1', '\\x00', 'ek-1', '\\x00', 'ak-1', '{}', '18446744073709551615', 4, 2, 0, 0),
               ('dev-2', '\\x00', 'ek-2', '\\x00', 'ak-2', '{}', NULL, NULL, NULL, 0, 0);
      INSERT INTO challenges (id, device_id, nonce, pcr_selection, offsets, created_at, expires_at, used_at)
        VALUES ('${open}', 'dev-1', '\\x00', '{}', '{}', 0, ${far}, NULL),
               ('${used}', 'dev-1', '\\x00', '{}', '{}', 0, ${far}, 1),
               ('${unclocked}', 'dev-2', '\\x00', '{}', '{}', 0, ${far}, NULL);`);
    const store = await openPostgresStore(url);
    expect((await store.getChallenge(open))!.tpmClockAtIssue).toEqual({ clock: 2n ** 64n - 1n, resetCount: 4, restartCount: 2 });
    expect((await store.getChallenge(used))!.tpmClockAtIssue).toBeNull(); // answered already: never judged again
    expect((await store.getChallenge(unclocked))!.tpmClockAtIssue).toBeNull();
    await store.close();
    expect(await sql('SELECT max(version) FROM schema_version')).toBe(String(pgMigrations.length));
  });

  it('migration 6 keeps every recorded challenge use (re-keyed by expiry), still a replay after the upgrade and pruned by expiry', async () => {
    // A database as version 5 left it: one device, an expired use and a live one.
    const [old, live] = [randomId(), randomId()];
    const far = Date.now() + 3_600_000;
    await sql(`${atVersion(5)}
      INSERT INTO devices (id, ek_public, ek_name, ak_public, ak_name, facts, created_at, updated_at)
        VALUES ('dev-1', '\\x00', 'ek-1', '\\x00', 'ak-1', '{}', 0, 0);
      INSERT INTO challenge_uses (id, device_id, used_at, expires_at) VALUES ('${old}', 'dev-1', 5, 10), ('${live}', 'dev-1', 5, ${far});`);
    const store = await openPostgresStore(url);
    await expectUsesKeptAcrossMigration6(store, { old, live, far });
    await store.close();
    expect(
      await sql(`SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = 'challenge_uses'::regclass AND i.indisprimary`),
    ).toBe('expires_at,id');
  });

  it('refuses a database from a newer Vigil', async () => {
    await (await openPostgresStore(url)).close();
    await pg.psql(db, `INSERT INTO schema_version VALUES (99, 'from the future', 0)`);
    await expect(openPostgresStore(url)).rejects.toMatchObject({ code: 'schema-too-new' });
  });

  it('an unreachable server is StoreError io naming the target but never the password; a non-PostgreSQL URL is refused', async () => {
    const secret = 'hunter2-' + randomBytes(4).toString('hex');
    const err = await openPostgresStore(`postgresql://vigil:${secret}@localhost/nothing?host=/nonexistent-${randomBytes(4).toString('hex')}`, { connectTimeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('io');
    expect((err as StoreError).message).toMatch(/vigil@\/nonexistent-.*\/nothing/);
    expect((err as StoreError).message).not.toContain(secret);
    await expect(openPostgresStore('mysql://localhost/vigil')).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('keeps JSON as text exactly as written (never jsonb: the audit hash covers the text) and only the hash of a token', async () => {
    const store = await openPostgresStore(url);
    const token = generateEnrollmentToken();
    await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 60_000, label: 'x', actor: 't' });
    const entry = await store.appendAudit({ actor: 't', action: 'test.write', subject: 's', details: { z: 1, a: [true, null] } });
    await store.close();
    expect(await sql(`SELECT data_type FROM information_schema.columns WHERE table_name = 'audit_log' AND column_name = 'details'`)).toBe('text');
    expect(await sql(`SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('json', 'jsonb')`)).toBe('0');
    expect(await sql(`SELECT details FROM audit_log WHERE seq = ${entry.seq}`)).toBe('{"a":[true,null],"z":1}');
    const dump = await sql(`SELECT hash || ' ' || coalesce(label, '') FROM enrollment_tokens`);
    expect(dump).toContain(hashEnrollmentToken(token));
    expect(dump).not.toContain(token.slice(4));
  });
});

// ── several replicas (processes) on one database ──────────────────────────

/**
 * A child process that opens the built store, says "ready", waits for "go"
 * on stdin (so all children start racing together), runs `body`, prints its
 * result as JSON and exits.
 */
function child(body: string, env: Record<string, string>): { proc: ChildProcessWithoutNullStreams; ready: Promise<void>; result: Promise<unknown> } {
  const script = `
    const { openPostgresStore } = await import(process.env.STORE_MODULE);
    const store = await openPostgresStore(process.env.DB_URL, { poolSize: 4 });
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    const result = await (async () => { ${body} })();
    await store.close();
    process.stdout.write(JSON.stringify(result) + '\\n');
    process.exit(0);
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, STORE_MODULE: builtStore, DB_URL: url, ...env },
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

async function seeded<T>(fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openPostgresStore(url);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const facts = { hostname: 'h', os: 'o', arch: 'a', agentVersion: '1', tpm: { manufacturer: 'm', firmwareVersion: 'f' } };

async function enrollOne(s: Store, id: string): Promise<void> {
  const token = generateEnrollmentToken();
  await s.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 600_000, actor: 't' });
  const enrolled = await s.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: { id, ekPublic: randomBytes(300), ekName: '000b' + randomBytes(32).toString('hex'), akPublic: randomBytes(280), akName: '000b' + randomBytes(32).toString('hex'), facts },
    certificate: { serial: randomBytes(8).toString('hex'), notBefore: 0, notAfter: Date.now() + 600_000, pem: 'PEM' },
    actor: 't',
  });
  expect(enrolled.ok).toBe(true);
}

describe.skipIf(!postgresAvailable)('PostgreSQL store shared by several replicas', () => {
  it('a token with 10 uses is consumed exactly 10 times by 4 processes trying 25 times each', async () => {
    const token = generateEnrollmentToken();
    await seeded((s) => s.createToken({ hash: hashEnrollmentToken(token), maxUses: 10, expiresAt: Date.now() + 600_000, actor: 't' }));
    const results = (await race(
      4,
      `const tries = await Promise.all(Array.from({ length: 25 }, () => store.consumeToken(process.env.HASH, Date.now())));
       return tries.filter((r) => r.ok).length;`,
      { HASH: hashEnrollmentToken(token) },
    )) as number[];
    expect(results.reduce((a, b) => a + b, 0)).toBe(10);
    expect(await sql('SELECT uses FROM enrollment_tokens')).toBe('10');
    await seeded(async (s) => expect((await s.listAudit({ limit: 1000 })).filter((e) => e.action === 'token.use')).toHaveLength(10));
  });

  it('a challenge is consumed once across 4 processes answering at once', async () => {
    const challengeId = randomId();
    await seeded(async (s) => {
      await enrollOne(s, 'dev-1');
      await s.createChallenge({ id: challengeId, deviceId: 'dev-1', nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: Date.now() + 600_000 });
    });
    const results = (await race(
      4,
      `const tries = await Promise.all(Array.from({ length: 5 }, () => store.consumeChallenge(process.env.CID, 'dev-1', Date.now())));
       return tries.map((r) => (r.ok ? 'ok' : r.reason));`,
      { CID: challengeId },
    )) as string[][];
    const all = results.flat();
    expect(all.filter((r) => r === 'ok')).toHaveLength(1);
    expect(all.filter((r) => r === 'used')).toHaveLength(19);
  });

  it('a sealed challenge is used once across 4 processes answering at once', async () => {
    const challengeId = timeOrderedId() + randomBytes(30).toString('base64url');
    await seeded((s) => enrollOne(s, 'dev-1'));
    const results = (await race(
      4,
      `const tries = await Promise.all(Array.from({ length: 5 }, () =>
         store.useChallenge({ id: process.env.CID, deviceId: 'dev-1', usedAt: Date.now(), expiresAt: Number(process.env.EXPIRES) })));
       return tries;`,
      // One id, one expiry: the expiry is part of a sealed id (and of the use's key).
      { CID: challengeId, EXPIRES: String(Date.now() + 60_000) },
    )) as boolean[][];
    const all = results.flat();
    expect(all).toHaveLength(20);
    expect(all.filter((first) => first)).toHaveLength(1);
    expect(await sql(`SELECT count(*) FROM challenge_uses WHERE id = '${challengeId}'`)).toBe('1');
  });

  it('a device revoked by 4 processes at once is revoked once, with one audit entry', async () => {
    await seeded((s) => enrollOne(s, 'dev-2'));
    const results = (await race(4, `const r = await store.revokeDevice({ deviceId: 'dev-2', reason: 'admin', actor: 'p' + process.pid }); return r.ok ? 'ok' : r.reason;`)) as string[];
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'already-revoked')).toHaveLength(3);
    await seeded(async (s) => {
      expect(await s.listRevocations('dev-2')).toHaveLength(1);
      expect((await s.listAudit({ limit: 1000 })).filter((e) => e.action === 'device.revoke')).toHaveLength(1);
      expect((await s.verifyAuditChain()).ok).toBe(true);
    });
  });

  it('audit appends and status changes from 4 processes form one linear, verifiable chain', async () => {
    await seeded(async (s) => {
      for (const id of ['d-a', 'd-b', 'd-c', 'd-d']) await enrollOne(s, id);
    });
    const results = (await race(
      4,
      `const devices = ['d-a', 'd-b', 'd-c', 'd-d'];
       await Promise.all(Array.from({ length: 40 }, async (_, i) => {
         if (i % 4 === 0) {
           const deviceId = devices[i % devices.length];
           await store.setDeviceStatus({ deviceId, status: i % 8 === 0 ? 'warning' : 'affirming', reason: 'test', actor: 'p' + process.pid });
         } else {
           await store.appendAudit({ actor: 'p' + process.pid, action: 'test.append', subject: 'n:' + i });
         }
       }));
       return true;`,
    )) as boolean[];
    expect(results).toEqual([true, true, true, true]);
    await seeded(async (s) => {
      const chain = await s.verifyAuditChain();
      expect(chain.ok).toBe(true);
      const entries = await s.listAudit({ limit: 10_000 });
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
      expect(entries.filter((e) => e.action === 'test.append')).toHaveLength(4 * 30);
      expect(new Set(entries.filter((e) => e.action === 'test.append').map((e) => e.actor)).size).toBe(4);
    });
  });
});
