import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import { postgresAvailable, startPostgres, type PostgresCluster } from '../../test/harness/postgres.js';
import { openPostgresStore } from '../src/store/index.js';
import { defineStoreSuite } from './store-suite.js';

/**
 * The Store contract on PostgreSQL: a throwaway cluster (initdb into a temp
 * dir, Unix socket only) for this file, a fresh database per test. Runs
 * whenever Debian's PostgreSQL server binaries are installed.
 */
let cluster: Promise<PostgresCluster | undefined> | undefined;
const getCluster = async (): Promise<PostgresCluster> => {
  cluster ??= startPostgres();
  const c = await cluster;
  if (c === undefined) throw new Error('PostgreSQL is not installed');
  return c;
};

afterAll(async () => {
  await (await cluster)?.stop();
});

describe.skipIf(!postgresAvailable)('PostgreSQL store', () => {
  defineStoreSuite('PostgreSQL', async () => {
    const pg = await getCluster();
    const name = `t_${randomBytes(6).toString('hex')}`;
    const url = await pg.createDatabase(name);
    return {
      open: () => openPostgresStore(url, { poolSize: 4 }),
      externalSql: async (sql) => {
        await pg.psql(name, sql);
      },
      destroy: () => pg.dropDatabase(name),
    };
  });
});
