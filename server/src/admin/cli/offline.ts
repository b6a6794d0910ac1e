import { userInfo } from 'node:os';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import type { ServerConfig } from '../../config/index.js';
import type { DataDir } from '../../datadir.js';
import type { FleetCa } from '../../pki/index.js';
import type { Store } from '../../store/index.js';
import type { OperationContext } from '../operations/context.js';
import type { Operation } from '../operations/operation.js';

/** Who is acting when the CLI works on the database itself, for the audit log. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * Runs an operation in this process, directly on the data directory's
 * database (no server is running). Store and PKI failures become exit codes.
 */
export async function runOffline(op: Operation, input: Record<string, unknown>, paths: DataDir): Promise<unknown> {
  // Loaded on use, not at start-up: every vigil-server command registers when the program starts.
  const [{ openSelectedStore, StoreError }, pki, { loadServerConfig }, { startupError }] = await Promise.all([
    import('../../store/index.js'),
    import('../../pki/index.js'),
    import('../../config/index.js'),
    import('../../config/startup-errors.js'),
  ]);
  const loaded = loadServerConfig({ configPath: paths.config });
  let store: Store;
  try {
    // The configuration's store: SQLite in the data directory, or the PostgreSQL database replicas share.
    store = await openSelectedStore((await loaded.catch((err: unknown) => startupError(err, paths.root))).store, paths.database, { create: false });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'missing') {
      throw new CliError(`no database at ${paths.database} (run: vigil-server init --data ${paths.root})`, ExitCode.Io, { cause: err });
    }
    if (err instanceof StoreError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  }
  let ca: Promise<FleetCa> | undefined;
  let config: Promise<ServerConfig> | undefined;
  const ctx: OperationContext = {
    store,
    paths,
    actor: cliActor(),
    server: undefined,
    fleetCa: () =>
      (ca ??= pki.loadFleetCaFiles(paths).catch((err: unknown) => {
        throw new CliError(`cannot load the fleet CA from ${paths.root}: ${(err as Error).message}`, ExitCode.Io, { cause: err });
      })),
    config: () => (config ??= loaded),
  };
  try {
    return await op.run(ctx, input);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, err.code === 'invalid-argument' ? ExitCode.Usage : ExitCode.Io, { cause: err });
    throw err;
  } finally {
    await store.close();
  }
}
