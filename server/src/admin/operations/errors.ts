import { ExitCode } from '../../cli/exit-codes.js';

/**
 * Why an admin operation did not do what was asked. One code, two
 * renderings: the HTTP status the API answers with, and the exit code the
 * CLI ends with, so a command fails the same way online and offline.
 */
export const OPERATION_ERRORS = {
  /** The input does not match the operation's schema or makes no sense (a bad id, an option out of range). */
  'invalid-input': { status: 400, exitCode: ExitCode.Usage },
  /** No client certificate, or one that is not a valid, unrevoked admin credential of this fleet. */
  unauthenticated: { status: 401, exitCode: ExitCode.Network },
  /** The credential's role is below the operation's. */
  forbidden: { status: 403, exitCode: ExitCode.Network },
  /** The thing named does not exist (device, token, admin credential). */
  'not-found': { status: 404, exitCode: ExitCode.Usage },
  /** The thing is not in a state that allows this (already revoked, name taken). */
  conflict: { status: 409, exitCode: ExitCode.Usage },
  /** The operation needs the running server (or one of its services) and it is not there. */
  unavailable: { status: 503, exitCode: ExitCode.Network },
  /** The database or a data-directory file could not be read or written. */
  storage: { status: 500, exitCode: ExitCode.Io },
  /** A bug: the log has the details. */
  internal: { status: 500, exitCode: ExitCode.Internal },
} as const;

export type OperationErrorCode = keyof typeof OPERATION_ERRORS;

export function isOperationErrorCode(value: unknown): value is OperationErrorCode {
  return typeof value === 'string' && Object.hasOwn(OPERATION_ERRORS, value);
}

/**
 * An expected refusal from an operation handler; anything else thrown is
 * `internal`. `property` names the input at fault, so the CLI can say
 * `--ttl: ...` where the API says `ttl: ...`.
 */
export class OperationError extends Error {
  readonly property: string | undefined;

  constructor(
    readonly code: OperationErrorCode,
    message: string,
    options?: { cause?: unknown; property?: string },
  ) {
    super(message, options);
    this.name = 'OperationError';
    this.property = options?.property;
  }

  get status(): number {
    return OPERATION_ERRORS[this.code].status;
  }

  get exitCode(): ExitCode {
    return OPERATION_ERRORS[this.code].exitCode;
  }
}
