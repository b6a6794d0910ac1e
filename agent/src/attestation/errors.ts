/** Why evidence or a model measurement could not be made. */
export type EvidenceErrorCode =
  /** A log file exists but cannot be read or parsed. */
  | 'log-unreadable'
  /** The model PCR holds measurements the model log does not show (something else extended it). */
  | 'model-pcr-mismatch'
  /** The model log file in the state directory is malformed. */
  | 'model-log-malformed'
  /** The challenge asks for something this agent cannot do (an unknown bank). */
  | 'bad-challenge';

export class EvidenceError extends Error {
  constructor(
    readonly code: EvidenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EvidenceError';
  }
}
