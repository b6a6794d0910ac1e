/**
 * Framing read incrementally straight off a socket's reads, for the load
 * generators' wires (the lean MQTT client, the floor's length prefix): a
 * read may end anywhere (inside a header, inside a body) and may hold many
 * frames. A frame whole inside one read is handed on as a view of it,
 * without a copy; only a frame split over reads is assembled, into a buffer
 * of exactly its size, and that size is checked against a bound before the
 * buffer exists, so a hostile length costs nothing. After an error the
 * stream cannot be re-synchronised: every later `feed` throws it again.
 *
 * A subclass reads its header a byte at a time (`headerByte`) and receives
 * each body (`frame`).
 */
export abstract class IncrementalFramer<E extends Error> {
  /** A frame split over reads: its body so far. */
  #body: Buffer | undefined;
  #filled = 0;
  #failed: E | undefined;

  /** @param maxBodyBytes the largest body accepted; a larger length is an error as soon as the header is read. */
  constructor(readonly maxBodyBytes: number) {}

  /** Takes the next header byte: the body's length once the header is whole, -1 while it is not. May `fail`. */
  protected abstract headerByte(byte: number): number;
  /** Whether a header is partly read. */
  protected abstract get inHeader(): boolean;
  /** A whole frame's body: a view, valid only during the call. */
  protected abstract frame(body: Buffer): void;
  /** The error for a length over `maxBodyBytes`. */
  protected abstract tooLarge(length: number): E;

  /**
   * Reads the first `end` bytes of `chunk`, handing on every frame they
   * complete. An error a frame's handler throws propagates unchanged.
   */
  feed(chunk: Buffer, end = chunk.length): void {
    if (this.#failed !== undefined) throw this.#failed;
    let at = 0;
    while (at < end) {
      if (this.#body !== undefined) {
        // The rest of a split frame.
        const take = Math.min(this.#body.length - this.#filled, end - at);
        chunk.copy(this.#body, this.#filled, at, at + take);
        this.#filled += take;
        at += take;
        if (this.#filled === this.#body.length) {
          const body = this.#body;
          this.#body = undefined;
          this.frame(body);
        }
        continue;
      }
      const length = this.headerByte(chunk[at++]!);
      if (length < 0) continue;
      if (length > this.maxBodyBytes) this.fail(this.tooLarge(length));
      if (end - at >= length) {
        // The common case: the whole body is in this read.
        const body = chunk.subarray(at, at + length);
        at += length;
        this.frame(body);
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#filled = 0;
      }
    }
  }

  /** A frame (or its header) is partly read. */
  get partial(): boolean {
    return this.inHeader || this.#body !== undefined;
  }

  protected fail(error: E): never {
    this.#failed = error;
    throw error;
  }
}
