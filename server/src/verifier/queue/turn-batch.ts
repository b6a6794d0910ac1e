/**
 * Work that arrives during one turn of the event loop, handed over together
 * at its end: the first `add` of a turn schedules one `setImmediate`, which
 * runs in the check phase right after the poll phase that read the messages,
 * so nothing waits for a later turn.
 *
 * Why: a message's own handling (the TLS read, MQTT parsing, the topic and
 * schema checks) leaves the CPU's caches full of other code and data, and
 * what runs next pays for it. Done one after another, the same short piece
 * of work for many devices runs warm: the store's read of a device's
 * standing cost ~25 µs right after each challenge request's own handling
 * and ~12 µs in a run of such reads (docs/benchmarks.md, twelfth round).
 */
export class TurnBatch<T> {
  #items: T[] = [];
  #closed = false;

  /**
   * `run` gets the turn's items in arrival order. It runs from `setImmediate`, where a throw would
   * end the process: what it throws goes to `onError`, and later turns are handed over as before.
   */
  constructor(
    private readonly run: (items: readonly T[]) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Waiting for the end of this turn. */
  get size(): number {
    return this.#items.length;
  }

  add(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    if (this.#items.length === 1) setImmediate(() => this.#flush());
  }

  /** Drops what waits and takes nothing more. */
  close(): void {
    this.#closed = true;
    this.#items = [];
  }

  #flush(): void {
    const items = this.#items;
    this.#items = [];
    if (this.#closed || items.length === 0) return;
    try {
      this.run(items);
    } catch (err) {
      this.onError(err);
    }
  }
}
