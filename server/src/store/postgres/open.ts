import { StoreError } from '../errors.js';
import type { Store } from '../store.js';
import { migratePg } from './migrate.js';
import { pgMigrations } from './migrations.js';
import { createPgPool, describePgTarget } from './pool.js';
import { PostgresStore } from './postgres-store.js';
import { asStoreError } from './sql.js';

export interface PostgresStoreOptions {
  /** Connections the pool may open (default 10). Each verifier replica has its own pool. */
  readonly poolSize?: number;
  /** Time allowed to open a connection (default 10 s); beyond it an operation fails with StoreError `io`. */
  readonly connectTimeoutMs?: number;
  /** Clock for the times the store stamps itself (created/updated/audit). Default Date.now. */
  readonly clock?: () => number;
  /** Told of errors on idle pooled connections (the pool replaces them); pass the server's logger. */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * Opens the PostgreSQL store at `url` (`postgres://user@host:5432/vigil`,
 * libpq-style parameters such as `?sslmode=verify-full&sslrootcert=...` or
 * `?host=/run/postgresql` for a Unix socket; a password is best given by
 * `PGPASSWORD` or `~/.pgpass`, not in the URL) and migrates it to the latest
 * schema, safely when several replicas start at once. The database must
 * exist; the role needs CREATE on it for the first migration.
 *
 * @throws StoreError `io` (unreachable, authentication refused, ...), `schema-too-new`, `invalid-argument` (not a PostgreSQL URL)
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const clock = options.clock ?? Date.now;
  const pool = createPgPool(url, {
    ...(options.poolSize !== undefined ? { max: options.poolSize } : {}),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.onIdleError !== undefined ? { onIdleError: options.onIdleError } : {}),
  });
  try {
    await migratePg(pool, pgMigrations, clock);
    return new PostgresStore(pool, clock);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof StoreError) throw err;
    // Name the database without its credentials.
    throw asStoreError(`cannot open PostgreSQL database ${describePgTarget(url)}`, err);
  }
}
