/**
 * A sliding window over a stream of chunks. A parser looks at `view()`, asks
 * for more with `fill(n)` when a record is cut by a chunk boundary, and
 * `advance`s past what it has parsed. Only the unparsed tail of the previous
 * chunk is ever copied, so memory stays at about one chunk plus one record.
 */
export class ChunkWindow {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #base = 0;
  #done = false;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.#it = chunks[Symbol.asyncIterator]();
  }

  /** Absolute offset (in the whole stream) of the first byte of `view()`. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  get available(): number {
    return this.#buf.length - this.#pos;
  }

  /** The bytes received and not yet consumed. */
  view(): Uint8Array {
    return this.#buf.subarray(this.#pos);
  }

  advance(n: number): void {
    if (n < 0 || n > this.available) throw new RangeError('advance past the window');
    this.#pos += n;
  }

  /** Reads chunks until at least `n` bytes are available; false if the stream ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.available < n && !this.#done) {
      const next = await this.#it.next();
      if (next.done) {
        this.#done = true;
        break;
      }
      const chunk = next.value;
      if (chunk.length === 0) continue;
      if (this.available === 0) {
        this.#base += this.#buf.length;
        this.#buf = chunk;
      } else {
        const joined = new Uint8Array(this.available + chunk.length);
        joined.set(this.view());
        joined.set(chunk, this.available);
        this.#base += this.#pos;
        this.#buf = joined;
      }
      this.#pos = 0;
    }
    return this.available >= n;
  }

  /** True when everything has been consumed and the stream has ended. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Stops the underlying stream early (closes a file on error). */
  async close(): Promise<void> {
    if (!this.#done) {
      this.#done = true;
      await this.#it.return?.();
    }
  }
}
