import { CliError, ExitCode } from '../cli/exit-codes.js';
import { PkiError } from '../pki/errors.js';
import { ConfigError } from './errors.js';

/**
 * Maps what can go wrong while reading the data directory and configuration
 * to the CLI's exit codes (docs/architecture.md): configuration → 2,
 * files / keys / data directory → 3. Anything else is rethrown (a bug → 70).
 */
export function startupError(err: unknown, dataRoot: string): never {
  if (err instanceof CliError) throw err;
  if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.Usage, { cause: err });
  if (err instanceof PkiError) {
    const code = err.code === 'invalid-option' || err.code === 'invalid-device-id' ? ExitCode.Usage : ExitCode.Io;
    throw new CliError(err.message, code, { cause: err });
  }
  const errno = err as NodeJS.ErrnoException;
  if (typeof errno?.code === 'string' && typeof errno.syscall === 'string') {
    const hint = errno.code === 'ENOENT' ? ` (run: vigil-server init --data ${dataRoot})` : '';
    throw new CliError(`${errno.message}${hint}`, ExitCode.Io, { cause: err });
  }
  throw err;
}
