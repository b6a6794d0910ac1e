import type pg from 'pg';
import { StoreError } from '../errors.js';
import { LOCK_CLASS, LockId } from './locks.js';
import type { PgMigration } from './migrations.js';

/**
 * Brings the database to the latest schema, the PostgreSQL way of
 * `../sqlite/migrate.ts`: a session advisory lock (LockId.migrate) makes
 * concurrent starts of several verifier replicas take turns, and each
 * pending migration runs in its own transaction together with its
 * `schema_version` row (PostgreSQL DDL is transactional), so a crash leaves
 * a recorded version and the schema is migrated exactly once.
 *
 * @returns the schema version now in effect.
 */
export async function migratePg(pool: pg.Pool, list: readonly PgMigration[], now: () => number): Promise<number> {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.version}`);
  });
  const latest = list.length;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, LockId.migrate]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
        version    BIGINT PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
      for (;;) {
        const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
        const version = rows[0]?.v ?? 0;
        if (version > latest) {
          throw new StoreError(
            'schema-too-new',
            `database schema version ${version} is newer than this Vigil understands (${latest}); upgrade vigil-server`,
          );
        }
        const next = list[version];
        if (next === undefined) return latest;
        await client.query('BEGIN');
        try {
          await client.query(next.sql);
          await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [next.version, next.name, now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LockId.migrate]).catch((err: Error) => {
        broken = err;
      });
    }
  } finally {
    // A connection whose unlock failed is dropped (which also releases its session lock).
    client.release(broken);
  }
}
