/**
 * The floor's framing — a 4-byte big-endian length, then that many bytes —
 * read incrementally straight off a socket's reads (`IncrementalFramer`): a read may end anywhere
 * (inside the length, inside a body) and may hold many frames. A frame whole
 * inside one read is handed on as a view of it, without a copy; only a frame
 * split over reads is assembled, into a buffer of exactly its size, and that
 * size is checked against a bound before the buffer exists, so a hostile
 * length costs nothing. (The same discipline as the lean MQTT client's
 * parser, `../fleet/lean-mqtt/frame-parser.ts`, for a simpler header.)
 */
import { IncrementalFramer } from '../incremental-framer.js';
import { FloorWireError } from './errors.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Called with each complete frame's body: a view, valid only during the call. */
export type FrameSink = (body: Buffer) => void;

export class FrameParser extends IncrementalFramer<FloorWireError> {
  /** The length prefix read so far (`#headerBytes` of its bytes). */
  #length = 0;
  #headerBytes = 0;

  /** @param maxBodyBytes the largest body accepted; a larger length prefix is an error as soon as it is read. */
  constructor(
    maxBodyBytes: number,
    private readonly sink: FrameSink,
  ) {
    super(maxBodyBytes);
  }

  // `feed` (IncrementalFramer) throws FloorWireError `empty` or `too-large` on a bad length.

  protected headerByte(byte: number): number {
    this.#length = this.#length * 256 + byte;
    if (++this.#headerBytes < FRAME_HEADER_BYTES) return -1;
    const length = this.#length;
    this.#length = 0;
    this.#headerBytes = 0;
    if (length === 0) this.fail(new FloorWireError('empty', 'a frame of length 0'));
    return length;
  }

  protected get inHeader(): boolean {
    return this.#headerBytes > 0;
  }

  protected frame(body: Buffer): void {
    this.sink(body);
  }

  protected tooLarge(length: number): FloorWireError {
    return new FloorWireError('too-large', `a frame of ${length} bytes is over the ${this.maxBodyBytes}-byte bound`);
  }
}
