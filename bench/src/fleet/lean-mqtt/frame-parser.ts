/**
 * MQTT framing (3.1.1 §2.2), incrementally, straight off a socket's data
 * chunks: a chunk may end anywhere (inside the remaining-length field,
 * inside a body) and may hold many packets. A packet whole inside one chunk
 * is handed on as a view of that chunk, without a copy; only a packet split
 * over chunks is assembled, into a buffer of exactly its size. The size is
 * checked against a bound before that buffer exists, so a hostile length
 * field costs nothing.
 */
import { LeanMqttError } from './errors.js';

/** Called with each complete packet: its type (high nibble), its flags (low nibble) and its body (the bytes after the fixed header). */
export type FrameSink = (type: number, flags: number, body: Buffer) => void;

const EMPTY = Buffer.alloc(0);

export class FrameParser {
  /** The first byte of the packet being read, or -1 between packets. */
  #first = -1;
  /** The remaining length read so far, and how many of its bytes. */
  #length = 0;
  #lengthBytes = 0;
  /** A packet split over chunks: its body so far. */
  #body: Buffer | undefined;
  #filled = 0;
  #failed: LeanMqttError | undefined;

  /**
   * @param maxRemainingLength the largest body accepted, bytes: a larger
   *   remaining length is an error as soon as its field is read.
   */
  constructor(
    readonly maxRemainingLength: number,
    private readonly sink: FrameSink,
  ) {}

  /**
   * Reads `chunk` (its first `end` bytes), calling the sink for every packet it completes. Throws
   * `LeanMqttError` (`malformed`, `too-large`) on a bad fixed header; after
   * that the stream cannot be re-synchronised and every later call throws
   * the same error. An error the sink throws propagates unchanged.
   */
  feed(chunk: Buffer, end = chunk.length): void {
    if (this.#failed !== undefined) throw this.#failed;
    let at = 0;
    while (at < end) {
      if (this.#body !== undefined) {
        // The rest of a split packet.
        const take = Math.min(this.#body.length - this.#filled, end - at);
        chunk.copy(this.#body, this.#filled, at, at + take);
        this.#filled += take;
        at += take;
        if (this.#filled === this.#body.length) {
          const body = this.#body;
          this.#body = undefined;
          this.#emit(body);
        }
        continue;
      }
      if (this.#first < 0) {
        const first = chunk[at++]!;
        const type = first >> 4;
        // Types 0 and 15 are reserved (§2.2.1): nothing a broker sends starts that way.
        if (type === 0 || type === 15) this.#fail('malformed', `reserved packet type ${type}`);
        this.#first = first;
        this.#length = 0;
        this.#lengthBytes = 0;
        continue;
      }
      // The remaining length (§2.2.3): 7 bits a byte, least significant first, at most four bytes.
      const byte = chunk[at++]!;
      this.#length += (byte & 0x7f) * 128 ** this.#lengthBytes;
      this.#lengthBytes++;
      if ((byte & 0x80) !== 0) {
        if (this.#lengthBytes === 4) this.#fail('malformed', 'remaining length longer than four bytes');
        continue;
      }
      const length = this.#length;
      if (length > this.maxRemainingLength) this.#fail('too-large', `packet of ${length} bytes is over the ${this.maxRemainingLength}-byte bound`);
      if (end - at >= length) {
        // The common case: the whole body is in this chunk.
        const body = length === 0 ? EMPTY : chunk.subarray(at, at + length);
        at += length;
        this.#emit(body);
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#filled = 0;
      }
    }
  }

  /** A packet split over chunks is being assembled (or its fixed header is incomplete). */
  get partial(): boolean {
    return this.#first >= 0;
  }

  #emit(body: Buffer): void {
    const first = this.#first;
    this.#first = -1;
    this.sink(first >> 4, first & 0x0f, body);
  }

  #fail(code: 'malformed' | 'too-large', message: string): never {
    this.#failed = new LeanMqttError(code, message);
    throw this.#failed;
  }
}
