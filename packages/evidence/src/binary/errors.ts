/**
 * Errors raised by the byte-level codec. They are internal to the package:
 * each parser turns them into its own typed, public error (EventLogParseError,
 * ImaParseError) that names the byte offset and the record number.
 */

/** Structured data is invalid at `offset` (absolute offset in the input). */
export class DecodeError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${reason} (at byte ${offset})`);
    this.name = 'DecodeError';
  }
}

/**
 * The input ended before a field did. `needed` is the number of bytes, counted
 * from the start of the reader, that would have been required: a streaming
 * parser reads at least that much more input and tries again.
 */
export class ShortReadError extends DecodeError {
  constructor(
    offset: number,
    readonly needed: number,
    readonly available: number,
  ) {
    super(offset, `truncated: ${needed} bytes needed, ${available} available`);
    this.name = 'ShortReadError';
  }
}

/**
 * For a structure nested inside one already read whole (event data, template
 * data): running out of bytes there is malformed data, not a reason to read
 * more input, so a ShortReadError becomes a plain DecodeError.
 */
export function nested<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ShortReadError) throw new DecodeError(err.offset, err.reason);
    throw err;
  }
}
