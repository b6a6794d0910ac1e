import { chmodSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../errors.js';
import type { Store } from '../store.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

export interface SqliteStoreOptions {
  /** Create the database file if it does not exist (default true). If false, a missing file is StoreError `missing`. */
  readonly create?: boolean;
  /**
   * `normal` (default): WAL with synchronous=NORMAL. A commit is in the WAL
   * file (the OS page cache) before it returns, so a killed process (even
   * SIGKILL) loses nothing it committed, which is what "publish only after
   * commit" needs; only an OS crash or power cut can lose the last commits
   * (never corrupt the database). `full`: synchronous=FULL, an fsync per
   * commit, for power-loss durability at a large cost in commits per second.
   */
  readonly durability?: 'normal' | 'full';
  /** How long a writer waits for another process's write lock (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** Clock for the times the store stamps itself (created/updated/audit). Default Date.now. */
  readonly clock?: () => number;
  /**
   * WAL checkpoints on a worker thread instead of inside the commit that
   * fills the WAL (`BackgroundCheckpointer`): for the long-running server,
   * whose commits are on its event loop. Default false (CLIs, tests).
   */
  readonly backgroundCheckpoints?: boolean;
  /** Told if background checkpoints fail and go back inline. */
  readonly onCheckpointFallback?: (reason: string) => void;
}

/**
 * Opens (creating and migrating as needed) the SQLite store at `path`.
 * The file is created with mode 0600 and tightened to 0600 if it is looser;
 * SQLite gives its -wal and -shm files the same mode.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const create = options.create ?? true;
  const clock = options.clock ?? Date.now;
  if (!existsSync(path)) {
    if (!create) throw new StoreError('missing', `no database at ${path}`);
    try {
      // O_EXCL: if another process creates it at the same moment, use theirs.
      closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreError('io', `cannot create database ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  let db: BetterSqlite3.Database | undefined;
  try {
    chmodSync(path, 0o600);
    db = new BetterSqlite3(path, { fileMustExist: true });
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StoreError('io', `cannot put ${path} in WAL mode (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    // Nothing in this schema needs SQL functions from the schema itself.
    db.pragma('trusted_schema = OFF');
    migrate(db, migrations, clock);
    // Statement journals and ephemeral tables in memory, never in temp files: see docs (twenty-third round).
    db.pragma('temp_store = MEMORY');
    // Bounds the WAL file's size on disk once a checkpoint let it start over.
    db.pragma('journal_size_limit = 67108864');
    const checkpointer =
      options.backgroundCheckpoints === true
        ? BackgroundCheckpointer.start(db, path, {
            busyTimeoutMs: Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000)),
            synchronous: options.durability === 'full' ? 'FULL' : 'NORMAL',
            ...(options.onCheckpointFallback !== undefined ? { onFallback: options.onCheckpointFallback } : {}),
          })
        : undefined;
    return new SqliteStore(db, clock, checkpointer);
  } catch (err) {
    db?.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError('io', `cannot open database ${path}: ${(err as Error).message}`, { cause: err });
  }
}
