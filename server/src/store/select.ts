import { openPostgresStore } from './postgres/open.js';
import { openSqliteStore } from './sqlite/open.js';
import type { Store } from './store.js';

/** Which store the configuration (`store:` section) selects. */
export interface StoreSelection {
  /** Empty: SQLite in the data directory; `postgres://...`: PostgreSQL. */
  readonly url: string;
  readonly poolSize: number;
}

export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(selection: Pick<StoreSelection, 'url'>): StoreKind {
  return selection.url === '' ? 'sqlite' : 'postgres';
}

/**
 * Opens the store the configuration selects: the SQLite file at
 * `sqlitePath` (created only when `create`), or the PostgreSQL database,
 * migrated as needed either way.
 *
 * @throws StoreError (`missing` for an absent SQLite file with `create: false`, `io`, `schema-too-new`)
 */
export function openSelectedStore(
  selection: StoreSelection,
  sqlitePath: string,
  options: {
    readonly create?: boolean;
    readonly onIdleError?: (err: Error) => void;
    /** SQLite: checkpoint the WAL on a worker thread (the long-running server). */
    readonly backgroundCheckpoints?: boolean;
    readonly onCheckpointFallback?: (reason: string) => void;
  } = {},
): Promise<Store> {
  if (storeKind(selection) === 'sqlite') {
    return openSqliteStore(sqlitePath, {
      create: options.create ?? true,
      ...(options.backgroundCheckpoints !== undefined ? { backgroundCheckpoints: options.backgroundCheckpoints } : {}),
      ...(options.onCheckpointFallback !== undefined ? { onCheckpointFallback: options.onCheckpointFallback } : {}),
    });
  }
  return openPostgresStore(selection.url, {
    poolSize: selection.poolSize,
    ...(options.onIdleError !== undefined ? { onIdleError: options.onIdleError } : {}),
  });
}
