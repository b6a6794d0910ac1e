/**
 * Why a message (or a value given to a protocol helper) was refused. Stable
 * codes: the server records them and sends them back to devices, and tests
 * assert on them.
 */
export type ProtocolErrorReason =
  /** The payload is larger than the limit for its message kind (checked before parsing). */
  | 'payload-too-large'
  /** Not UTF-8, or not JSON. */
  | 'invalid-json'
  /** JSON nested deeper than {@link MAX_JSON_DEPTH}. */
  | 'too-deep'
  /** A key such as `__proto__` that could pollute prototypes if ever merged. */
  | 'forbidden-key'
  /** Valid JSON that does not match the message schema. */
  | 'schema'
  /** A binary field whose content is malformed (e.g. a TPM2B size prefix that lies). */
  | 'invalid-structure'
  /** A compressed field that inflates beyond its limit, or is not valid gzip. */
  | 'invalid-compression'
  /** An id that is not allowed in a topic. */
  | 'invalid-id';

/** A refused message or value: `reason` is a stable code, `path` the JSON pointer of the failing field. */
export class ProtocolError extends Error {
  constructor(
    readonly reason: ProtocolErrorReason,
    message: string,
    readonly path: string = '',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
