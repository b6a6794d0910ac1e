/**
 * MQTT framing (3.1.1 §2.2), incrementally, straight off a socket's data
 * chunks: a chunk may end anywhere (inside the remaining-length field,
 * inside a body) and may hold many packets. A packet whole inside one chunk
 * is handed on as a view of that chunk, without a copy; only a packet split
 * over chunks is assembled, into a buffer of exactly its size. The size is
 * checked against a bound before that buffer exists, so a hostile length
 * field costs nothing.
 */
import { IncrementalFramer } from '../../incremental-framer.js';
import { LeanMqttError } from './errors.js';

/** Called with each complete packet: its type (high nibble), its flags (low nibble) and its body (the bytes after the fixed header). */
export type FrameSink = (type: number, flags: number, body: Buffer) => void;

const EMPTY = Buffer.alloc(0);

export class FrameParser extends IncrementalFramer<LeanMqttError> {
  /** The first byte of the packet being read, or -1 between packets. */
  #first = -1;
  /** The remaining length read so far, and how many of its bytes. */
  #length = 0;
  #lengthBytes = 0;

  /**
   * @param maxRemainingLength the largest body accepted, bytes: a larger
   *   remaining length is an error as soon as its field is read.
   */
  constructor(
    readonly maxRemainingLength: number,
    private readonly sink: FrameSink,
  ) {
    super(maxRemainingLength);
  }

  // `feed` (IncrementalFramer) throws LeanMqttError `malformed` or `too-large` on a bad fixed header.

  protected headerByte(byte: number): number {
    if (this.#first < 0) {
      const type = byte >> 4;
      // Types 0 and 15 are reserved (§2.2.1): nothing a broker sends starts that way.
      if (type === 0 || type === 15) this.fail(new LeanMqttError('malformed', `reserved packet type ${type}`));
      this.#first = byte;
      this.#length = 0;
      this.#lengthBytes = 0;
      return -1;
    }
    // The remaining length (§2.2.3): 7 bits a byte, least significant first, at most four bytes.
    this.#length += (byte & 0x7f) * 128 ** this.#lengthBytes;
    this.#lengthBytes++;
    if ((byte & 0x80) !== 0) {
      if (this.#lengthBytes === 4) this.fail(new LeanMqttError('malformed', 'remaining length longer than four bytes'));
      return -1;
    }
    return this.#length;
  }

  /** Between the first byte and the end of its body: the packet is still being read. */
  protected get inHeader(): boolean {
    return this.#first >= 0;
  }

  protected frame(body: Buffer): void {
    const first = this.#first;
    this.#first = -1;
    this.sink(first >> 4, first & 0x0f, body.length === 0 ? EMPTY : body);
  }

  protected tooLarge(length: number): LeanMqttError {
    return new LeanMqttError('too-large', `packet of ${length} bytes is over the ${this.maxRemainingLength}-byte bound`);
  }
}
