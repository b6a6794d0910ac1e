import type { Command } from 'commander';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import type { Store } from '../../store/index.js';
import { CliError, ExitCode } from '../exit-codes.js';

/** `vigil-server audit verify|list`: the hash-chained audit log. */
export function register(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log of security-relevant acts');

  audit
    .command('verify')
    .description('walk the whole audit chain: exit 0 if intact, 1 naming the first broken entry')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--json', 'print the result as JSON')
    .action(async (options: { data: string; json?: boolean }) => {
      const result = await withStore(options.data, (store) => store.verifyAuditChain());
      if (options.json === true) process.stdout.write(JSON.stringify(result) + '\n');
      if (result.ok) {
        if (options.json !== true) process.stdout.write(`audit chain intact: ${result.entries} entries (head ${result.headHash})\n`);
        return;
      }
      if (options.json !== true) {
        process.stdout.write(`audit chain broken at entry ${result.brokenSeq}: ${result.why} (${result.entries} entries before it verify)\n`);
      }
      process.exitCode = ExitCode.Failed;
    });

  audit
    .command('list')
    .description('print audit entries in order')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--after <seq>', 'start after this entry', '0')
    .option('--limit <n>', 'at most this many entries', '1000')
    .option('--json', 'print a JSON array')
    .action(async (options: { data: string; after: string; limit: string; json?: boolean }) => {
      const afterSeq = wholeNumber(options.after, '--after');
      const limit = wholeNumber(options.limit, '--limit');
      const entries = await withStore(options.data, (store) => store.listAudit({ afterSeq, limit }));
      if (options.json === true) {
        process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
        return;
      }
      for (const e of entries) {
        process.stdout.write(`${e.seq}\t${new Date(e.at).toISOString()}\t${e.actor}\t${e.action}\t${e.subject}\t${JSON.stringify(e.details)}\n`);
      }
    });
}

function wholeNumber(text: string, flag: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new CliError(`${flag}: expected a whole number, got ${JSON.stringify(text)}`, ExitCode.Usage);
  return Number(text);
}

/** Opens the existing database of a data directory, runs `fn`, closes it; store failures become exit codes. */
async function withStore<T>(root: string, fn: (store: Store) => Promise<T>): Promise<T> {
  // Loaded on use, not at start-up: every vigil-server command registers when the program starts.
  const { openSqliteStore, StoreError } = await import('../../store/index.js');
  const paths = dataDir(root);
  let store: Store;
  try {
    store = await openSqliteStore(paths.database, { create: false });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'missing') {
      throw new CliError(`no database at ${paths.database} (run: vigil-server init --data ${paths.root})`, ExitCode.Io, { cause: err });
    }
    if (err instanceof StoreError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  }
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  } finally {
    await store.close();
  }
}
