import { CliError, ExitCode } from '../../cli/exit-codes.js';
import type { DataDir } from '../../datadir.js';
import { AdminConnectionError } from '../client/admin-client.js';
import { OperationError } from '../operations/errors.js';
import type { Operation } from '../operations/operation.js';
import { findRunningServer } from './local-server.js';
import { runOffline } from './offline.js';

/**
 * Runs an operation for a `vigil-server` command: through the admin API of
 * the server running for this data directory, else directly on its
 * database when the operation allows it, else exit 5. Returns the output
 * after a JSON round trip, so what the caller renders is the same either way.
 * Refusals become CliErrors; `flag` names an input as the command line does.
 *
 * @throws CliError
 */
export async function invokeOperation(
  op: Operation,
  input: Record<string, unknown>,
  paths: DataDir,
  flag: (property: string) => string = (p) => p,
): Promise<unknown> {
  try {
    const server = await findRunningServer(paths);
    let output: unknown;
    if (server !== undefined) {
      output = await server.call(op, input);
    } else if (op.offline) {
      output = JSON.parse(JSON.stringify(await runOffline(op, input, paths)) ?? 'null');
    } else {
      throw new CliError(`vigil-server is not running for ${paths.root}`, ExitCode.Network);
    }
    return output;
  } catch (err) {
    if (err instanceof OperationError) {
      throw new CliError(err.property === undefined ? err.message : `${flag(err.property)}: ${err.message}`, err.exitCode, { cause: err });
    }
    if (err instanceof AdminConnectionError) throw new CliError(err.message, ExitCode.Network, { cause: err });
    throw err;
  }
}
