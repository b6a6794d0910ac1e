import { DecodeError, ShortReadError } from './errors.js';

/**
 * A bounded little-endian cursor over bytes. Every read is checked against the
 * end of the input before anything is touched or allocated, so no size field
 * can make it read out of bounds. Byte fields are returned as views (no copy).
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #pos = 0;

  /**
   * @param bytes the input
   * @param base absolute offset of `bytes[0]` in the whole input, so errors
   *   name positions a user can find in the file
   */
  constructor(
    bytes: Uint8Array,
    readonly base = 0,
  ) {
    // A plain Uint8Array view, even over a Buffer: Buffer#slice does not copy,
    // and callers rely on `bytes(n).slice()` being a copy of their own.
    this.#bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#pos;
  }

  /** Absolute offset of the next byte. */
  get offset(): number {
    return this.base + this.#pos;
  }

  get remaining(): number {
    return this.#bytes.length - this.#pos;
  }

  /** Throws ShortReadError unless `n` more bytes are available. */
  need(n: number): void {
    if (n > this.remaining) throw new ShortReadError(this.offset, this.#pos + n, this.#bytes.length);
  }

  u8(): number {
    this.need(1);
    return this.#view.getUint8(this.#pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return v;
  }

  /** `n` bytes as a view into the input (no copy). */
  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw new DecodeError(this.offset, `invalid length ${n}`);
    this.need(n);
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** Everything left. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /** A reader over the next `n` bytes, consumed from this one. */
  sub(n: number): ByteReader {
    const start = this.offset;
    return new ByteReader(this.bytes(n), start);
  }

  /** Fails unless the input has been consumed exactly. */
  expectEnd(what: string): void {
    if (this.remaining !== 0) throw new DecodeError(this.offset, `${this.remaining} unexpected trailing bytes after ${what}`);
  }
}
