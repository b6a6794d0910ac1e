/**
 * The floor's framing — a 4-byte big-endian length, then that many bytes —
 * read incrementally straight off a socket's reads: a read may end anywhere
 * (inside the length, inside a body) and may hold many frames. A frame whole
 * inside one read is handed on as a view of it, without a copy; only a frame
 * split over reads is assembled, into a buffer of exactly its size, and that
 * size is checked against a bound before the buffer exists, so a hostile
 * length costs nothing. (The same discipline as the lean MQTT client's
 * parser, `../fleet/lean-mqtt/frame-parser.ts`, for a simpler header.)
 */
import { FloorWireError } from './errors.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Called with each complete frame's body: a view, valid only during the call. */
export type FrameSink = (body: Buffer) => void;

export class FrameParser {
  /** The length prefix read so far (`#headerBytes` of its bytes). */
  #length = 0;
  #headerBytes = 0;
  /** A frame split over reads: its body so far. */
  #body: Buffer | undefined;
  #filled = 0;
  #failed: FloorWireError | undefined;

  /** @param maxBodyBytes the largest body accepted; a larger length prefix is an error as soon as it is read. */
  constructor(
    readonly maxBodyBytes: number,
    private readonly sink: FrameSink,
  ) {}

  /**
   * Reads the first `end` bytes of `chunk`, calling the sink for every frame
   * they complete. Throws `FloorWireError` (`empty`, `too-large`) on a bad
   * length; the stream cannot be re-synchronised after that, so every later
   * call throws the same error. An error the sink throws propagates unchanged.
   */
  feed(chunk: Buffer, end = chunk.length): void {
    if (this.#failed !== undefined) throw this.#failed;
    let at = 0;
    while (at < end) {
      if (this.#body !== undefined) {
        const take = Math.min(this.#body.length - this.#filled, end - at);
        chunk.copy(this.#body, this.#filled, at, at + take);
        this.#filled += take;
        at += take;
        if (this.#filled === this.#body.length) {
          const body = this.#body;
          this.#body = undefined;
          this.sink(body);
        }
        continue;
      }
      if (this.#headerBytes < FRAME_HEADER_BYTES) {
        this.#length = this.#length * 256 + chunk[at++]!;
        if (++this.#headerBytes < FRAME_HEADER_BYTES) continue;
      }
      const length = this.#length;
      this.#length = 0;
      this.#headerBytes = 0;
      if (length === 0) this.#fail('empty', 'a frame of length 0');
      if (length > this.maxBodyBytes) this.#fail('too-large', `a frame of ${length} bytes is over the ${this.maxBodyBytes}-byte bound`);
      if (end - at >= length) {
        const body = chunk.subarray(at, at + length);
        at += length;
        this.sink(body);
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#filled = 0;
      }
    }
  }

  /** A frame (or its length prefix) is partly read. */
  get partial(): boolean {
    return this.#headerBytes > 0 || this.#body !== undefined;
  }

  #fail(code: 'empty' | 'too-large', message: string): never {
    this.#failed = new FloorWireError(code, message);
    throw this.#failed;
  }
}
