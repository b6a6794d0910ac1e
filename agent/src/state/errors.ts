/**
 * Why the state directory could not be used:
 * - `missing`: a file that should be there is not (e.g. not enrolled yet);
 * - `malformed`: a file is there but does not parse or validate;
 * - `insecure`: the directory or a secret file is open to group or others;
 * - `io`: reading or writing failed;
 * - `tpm-changed`: the TPM no longer has the EK/AK recorded at enrollment
 *   (cleared, or another TPM): the device must enroll again.
 */
export type StateErrorCode = 'missing' | 'malformed' | 'insecure' | 'io' | 'tpm-changed';

export class StateError extends Error {
  constructor(
    readonly code: StateErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StateError';
  }
}
