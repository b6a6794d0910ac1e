import type { EnrollRejection } from '@vigil/protocol/core';

/**
 * How an enrollment failed, so callers can act on it (the CLI maps each to
 * an exit code, see docs/architecture.md):
 * - `refused`: the server refused, `reason` says why (exit 1);
 * - `usage`: a bad server URL, token or option (exit 2);
 * - `state`: the state directory could not be used (exit 3);
 * - `tpm`: the TPM failed or could not be reached (exit 4);
 * - `network`: the broker could not be reached, refused the TLS handshake or
 *   the connection, or dropped it (exit 5);
 * - `timeout`: the server (or the TPM) did not answer within the enrollment
 *   timeout; the message names what was awaited (exit 5);
 * - `cancelled`: the caller's AbortSignal ended the attempt (the daemon stopping);
 * - `protocol`: the server answered something this agent cannot accept
 *   (malformed, or a certificate not for our key or not from the fleet CA) (exit 5).
 */
export type EnrollmentFailure = 'refused' | 'usage' | 'state' | 'tpm' | 'network' | 'timeout' | 'cancelled' | 'protocol';

export class EnrollmentError extends Error {
  constructor(
    readonly failure: EnrollmentFailure,
    message: string,
    /** The server's named reason, for `refused`. */
    readonly reason?: EnrollRejection,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EnrollmentError';
  }
}
