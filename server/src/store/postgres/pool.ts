import pg from 'pg';
import { StoreError } from '../errors.js';

/** int8 (BIGINT), PostgreSQL's type OID 20. */
const INT8_OID = 20;

export interface PgPoolOptions {
  /** Connections the pool may open (default 10). */
  readonly max?: number;
  /** Time allowed to open a connection before the operation fails (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Told of errors on idle connections (the server restarted, the network dropped); the pool replaces them. */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * BIGINT columns hold Unix milliseconds, ids and counts, all far below 2^53:
 * they are read as numbers (what better-sqlite3 returns for SQLite's
 * INTEGER), not pg's default strings. A value beyond 2^53 would lose
 * precision, so it is refused loudly instead.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new StoreError('io', `BIGINT value ${text} is beyond 2^53`);
  return n;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Where a connection string points, without credentials, for messages and
 * logs: `user@host:port/database` (the password is never shown).
 */
export function describePgTarget(url: string): string {
  try {
    const u = new URL(url);
    const socketDir = u.searchParams.get('host');
    const host = socketDir ?? (u.host === '' ? 'localhost' : u.host);
    return `${u.username === '' ? '' : `${decodeURIComponent(u.username)}@`}${host}${u.pathname}`;
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
}

/** A connection pool for `url` (`postgres://` or `postgresql://`, libpq-style `?sslmode=...&host=/socket/dir`). */
export function createPgPool(url: string, options: PgPoolOptions = {}): pg.Pool {
  if (!/^postgres(?:ql)?:\/\//.test(url)) {
    throw new StoreError('invalid-argument', `not a PostgreSQL URL (postgres://...): ${describePgTarget(url)}`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'vigil-server',
    types,
  });
  // Without a listener an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}
