import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import type { Migration } from './migrations.js';

/**
 * Brings the database to the latest schema. Each pending migration runs in
 * its own IMMEDIATE transaction together with its `schema_version` row, so a
 * crash leaves the schema at a recorded version and two processes opening
 * the same file at once migrate it exactly once (the second waits for the
 * write lock, then finds nothing pending).
 *
 * @returns the schema version now in effect.
 */
export function migrate(db: Database, list: readonly Migration[], now: () => number): number {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.version}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const current = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_version');
  const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
  const latest = list.length;
  for (;;) {
    const applied = db.transaction((): number | null => {
      const version = current.get()?.v ?? 0;
      if (version > latest) {
        throw new StoreError(
          'schema-too-new',
          `database schema version ${version} is newer than this Vigil understands (${latest}); upgrade vigil-server`,
        );
      }
      const next = list[version];
      if (next === undefined) return null;
      db.exec(next.sql);
      record.run(next.version, next.name, now());
      return next.version;
    }).immediate();
    if (applied === null) return latest;
  }
}
