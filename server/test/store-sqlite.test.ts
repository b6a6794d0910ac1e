import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openSqliteStore } from '../src/store/index.js';
import { defineStoreSuite } from './store-suite.js';

const run = promisify(execFile);

defineStoreSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-store-'));
  const path = join(dir, 'vigil.db');
  return {
    open: () => openSqliteStore(path),
    externalSql: async (sql) => {
      await run('sqlite3', [path, sql]);
    },
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
