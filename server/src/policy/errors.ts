/** Why a policy operation was refused; stable codes the CLI and API map to exit codes and HTTP statuses. */
export type PolicyErrorCode =
  /** The document does not match the policy schema (`path` names the field). */
  | 'invalid-policy'
  /** No such policy, version, device or model. */
  | 'not-found'
  /** The device has no verified evidence to capture golden values from. */
  | 'no-evidence'
  /** An input file (tpm2_eventlog YAML, replay JSON, model file) cannot be read or understood. */
  | 'invalid-input';

export class PolicyError extends Error {
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    readonly path: string = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PolicyError';
  }
}
