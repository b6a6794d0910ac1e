/**
 * Exit codes of `vigil-agent` and `vigil-server`, so scripts and systemd can
 * tell outcomes apart. One table for both programs: the demo and the tests
 * read the agent's exit code with it (6: revoked, do not restart).
 * Documented in the README (Command-line exit codes), which a test holds to
 * this table.
 */
export const ExitCode = {
  /** Success; for verification commands: the evidence is valid / affirming. */
  Ok: 0,
  /** The thing checked is not trustworthy: invalid quote, non-affirming verdict, broken audit chain. */
  Failed: 1,
  /** Bad command line or configuration. */
  Usage: 2,
  /** Input/output: a file, the data directory or the database could not be read or written. */
  Io: 3,
  /** The TPM refused a command or could not be reached. */
  Tpm: 4,
  /** The network peer (broker, server, admin API) could not be reached or refused us. */
  Network: 5,
  /** This device has been revoked by the fleet verifier (agent only). */
  Revoked: 6,
  /** An unexpected internal error: a bug; the log has the details. */
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that carries the exit code the CLI should end with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}
