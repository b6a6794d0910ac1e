/**
 * Group commit: writes submitted close together go to the store as one
 * batch, one transaction. A transaction's commit rewrites the pages it
 * touched into the WAL, and the verifier's writes all touch the same few
 * hot pages, so the cost of a commit is shared by the writes in it: the
 * scratch store benchmark measured 271 µs of CPU per verdict with one
 * write per batch and 148-156 with 5-20 (docs/benchmarks.md).
 *
 * Under load the writes that arrive while one batch runs make the next
 * batch. When the batcher is idle, the first write opens a window of
 * `windowMs` for others to join, closed early once `fillTo` have, but only
 * while writes come often enough for company to be likely: when the mean
 * gap between recent writes (a moving average) is longer than the window,
 * a lone write would only wait, so it goes at the end of this turn of the
 * event loop as with no window. Each caller gets its own result; a batch
 * that fails as a whole fails every caller in it.
 */
export interface WriteBatcherOptions {
  /** Most writes in one batch (default 256). */
  readonly maxBatch?: number;
  /** How long the first write of an idle batcher waits for others, ms (default 0: to the end of this turn of the event loop). */
  readonly windowMs?: number;
  /** A window closes as soon as this many writes are waiting (default 16). */
  readonly fillTo?: number;
  /** Milliseconds, monotonic (default `performance.now`); for tests. */
  readonly now?: () => number;
}

/** Weight of the newest gap in the moving average of gaps between writes. */
const GAP_WEIGHT = 1 / 8;

export class WriteBatcher<In, Out> {
  #pending: Array<{ input: In; resolve: (o: Out) => void; reject: (e: unknown) => void }> = [];
  /** A batch is running or due: submissions only join the queue. */
  #scheduled = false;
  /** The open window's timer, if one is open. */
  #window: NodeJS.Timeout | undefined;
  readonly #maxBatch: number;
  readonly #windowMs: number;
  readonly #fillTo: number;
  readonly #now: () => number;
  /** When the last write was submitted, and the moving average of the gaps between writes (ms). */
  #lastAt = Number.NEGATIVE_INFINITY;
  #meanGap = Number.POSITIVE_INFINITY;

  constructor(
    private readonly flush: (inputs: In[]) => Promise<Out[]>,
    options: WriteBatcherOptions = {},
  ) {
    this.#maxBatch = options.maxBatch ?? 256;
    this.#windowMs = options.windowMs ?? 0;
    this.#fillTo = options.fillTo ?? 16;
    this.#now = options.now ?? (() => performance.now());
  }

  submit(input: In): Promise<Out> {
    if (this.#windowMs > 0) this.#noteArrival();
    return new Promise<Out>((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        if (this.#windowMs > 0 && this.#meanGap < this.#windowMs) this.#window = setTimeout(() => this.#closeWindow(), this.#windowMs);
        else setImmediate(() => void this.#run());
      } else if (this.#window !== undefined && this.#pending.length >= this.#fillTo) {
        // Full enough: close the window now, but run the batch from a fresh turn, not inside this caller.
        clearTimeout(this.#window);
        this.#window = undefined;
        setImmediate(() => void this.#run());
      }
    });
  }

  #noteArrival(): void {
    const now = this.#now();
    // A gap far longer than the window says as much as one just past it: capped, one quiet spell
    // does not take many busy writes to outweigh.
    const gap = Math.min(now - this.#lastAt, 4 * this.#windowMs);
    this.#lastAt = now;
    this.#meanGap = this.#meanGap === Number.POSITIVE_INFINITY ? gap : this.#meanGap + GAP_WEIGHT * (gap - this.#meanGap);
  }

  #closeWindow(): void {
    this.#window = undefined;
    void this.#run();
  }

  /**
   * Commits what waits now (an open window closes) and resolves once no
   * batch is running or waiting: on shutdown, so that no write is left
   * behind a timer to meet a closed store.
   */
  async drain(): Promise<void> {
    if (this.#window !== undefined) {
      clearTimeout(this.#window);
      this.#window = undefined;
      void this.#run();
    }
    while (this.#scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async #run(): Promise<void> {
    const batch = this.#pending.splice(0, this.#maxBatch);
    try {
      const outs = await this.flush(batch.map((b) => b.input));
      batch.forEach((b, i) => b.resolve(outs[i]!));
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
    // Writes that came while this batch ran have waited long enough: the next batch starts now.
    if (this.#pending.length > 0) setImmediate(() => void this.#run());
    else this.#scheduled = false;
  }
}
