import type pg from 'pg';
import { StoreError } from '../errors.js';
import { LOCK_CLASS } from './locks.js';

/** A pool (one statement, autocommit) or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

/** Rows of a statement. Row types are the shared ones of `../sqlite/rows.ts` (see `migrations.ts`). */
export async function all<R>(db: Queryable, text: string, values: readonly unknown[] = []): Promise<R[]> {
  const result = await db.query(text, values as unknown[]);
  return result.rows as R[];
}

/** The first row of a statement, or undefined. */
export async function one<R>(db: Queryable, text: string, values: readonly unknown[] = []): Promise<R | undefined> {
  return (await all<R>(db, text, values))[0];
}

/** Rows a write changed. */
export async function run(db: Queryable, text: string, values: readonly unknown[] = []): Promise<number> {
  return (await db.query(text, values as unknown[])).rowCount ?? 0;
}

/** Takes a transaction-scoped advisory lock of Vigil's class; released at COMMIT or ROLLBACK. */
export async function lock(client: pg.PoolClient, id: number): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, id]);
}

/** A byte array as pg sends BYTEA. */
export function bytes(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Database errors as StoreError: integrity and data errors (SQLSTATE classes
 * 23 and 22: a duplicate serial, a foreign key, a CHECK) are the caller's
 * `invalid-argument`, as SQLite's constraint errors are; everything else
 * (connection refused, server gone, ...) is `io`.
 */
export function asStoreError(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) {
    return new StoreError('invalid-argument', `${what}: ${message}`, { cause: err });
  }
  return new StoreError('io', `${what}: ${message}`, { cause: err });
}

/**
 * Runs `fn` in one transaction on one pooled connection: BEGIN, fn, COMMIT;
 * ROLLBACK on any error, which is rethrown as StoreError. A connection
 * whose ROLLBACK fails is discarded rather than returned to the pool.
 */
export async function transaction<T>(
  pool: pg.Pool,
  what: string,
  fn: (client: pg.PoolClient) => Promise<T>,
  mode: 'read write' | 'repeatable read' = 'read write',
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw asStoreError(what, err);
  }
  let discard: Error | undefined;
  try {
    await client.query(mode === 'read write' ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      discard = rollbackError;
    });
    throw asStoreError(what, err);
  } finally {
    client.release(discard);
  }
}
