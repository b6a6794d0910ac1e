/** Why the store failed (as opposed to refusing something, which is a result). */
export type StoreErrorCode =
  /** No database at the path (and the caller asked not to create one). */
  | 'missing'
  /** The database was written by a newer Vigil: its schema version is unknown here. */
  | 'schema-too-new'
  /** A value the caller should have validated (a malformed id, digest, name). */
  | 'invalid-argument'
  /** The database or its files could not be opened, read or written. */
  | 'io';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}
