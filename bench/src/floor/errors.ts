/**
 * The one error type of the floor benchmark's wire: what went wrong, by
 * name, so a peer can count it, close the connection and carry on, and a
 * test can assert on it.
 */
export type FloorWireErrorCode =
  /** A length prefix of zero: every frame carries at least its kind byte. */
  | 'empty'
  /** A length prefix over the connection's bound: refused before anything is allocated for it. */
  | 'too-large'
  /** A frame whose body does not decode as its kind says (sizes past the end, an unknown kind). */
  | 'malformed'
  /** A well-formed frame the peer cannot accept now (evidence without a challenge, a second hello). */
  | 'protocol';

export class FloorWireError extends Error {
  override readonly name = 'FloorWireError';

  constructor(
    readonly code: FloorWireErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
