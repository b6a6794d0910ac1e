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
    if (this.available >= n || this.#done) return this.available >= n;
    // Collect what is needed, then join once: small chunks must not cost a copy each.
    const parts: Uint8Array[] = [];
    let total = this.available;
    while (total < n) {
      const next = await this.#it.next();
      if (next.done) {
        this.#done = true;
        break;
      }
      if (next.value.length === 0) continue;
      parts.push(next.value);
      total += next.value.length;
    }
    if (parts.length === 0) return false;
    if (this.available === 0 && parts.length === 1) {
      this.#base += this.#buf.length;
      this.#buf = parts[0]!;
    } else {
      const joined = new Uint8Array(total);
      joined.set(this.view());
      let at = this.available;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      this.#base += this.#pos;
      this.#buf = joined;
    }
    this.#pos = 0;
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
