import { TpmUnmarshalError } from './errors.js';

/**
 * A bounded big-endian reader over a byte array (TPM 2.0 Part 1 §18:
 * all integers are big-endian). Every read checks the remaining length
 * first, so a lying size field can never read past the end or allocate more
 * than the input holds. Errors carry the structure path being decoded.
 */
export class Reader {
  private pos: number;
  private readonly end: number;
  private readonly view: DataView;
  private readonly path: string[] = [];

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.pos = start;
    this.end = end;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Runs `fn` with `name` pushed on the error path. */
  within<T>(name: string, fn: () => T): T {
    this.path.push(name);
    try {
      return fn();
    } finally {
      this.path.pop();
    }
  }

  fail(reason: string, at = this.pos): never {
    throw new TpmUnmarshalError(this.path.join('.') || '(root)', at, reason);
  }

  private need(n: number): void {
    if (n > this.end - this.pos) this.fail(`need ${n} byte(s), ${this.end - this.pos} left`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** `n` bytes, copied (the result never aliases the input buffer). */
  bytesOf(n: number): Uint8Array {
    this.need(n);
    // Not `bytes.slice`: on a Buffer that returns a view of the input, not a copy.
    const out = new Uint8Array(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /**
   * A sub-reader over the next `n` bytes, for size-prefixed structures
   * (TPM2B_PUBLIC and friends): the inner structure may not read past them and
   * must consume them exactly.
   */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.bytes, this.pos, this.pos + n);
    r.path.push(...this.path);
    this.pos += n;
    return r;
  }

  /** Fails unless every byte has been consumed. */
  expectEnd(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} trailing byte(s)`);
  }
}
