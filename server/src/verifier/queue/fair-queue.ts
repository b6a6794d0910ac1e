/**
 * Evidence waiting for appraisal, per device, served round-robin.
 *
 * - Each device has its own bounded FIFO: a device flooding the server fills
 *   only its own queue, and what does not fit is refused at once (the caller
 *   answers `overloaded`), so the flood costs the others nothing but the
 *   refusals.
 * - Devices with work wait in a ring; each free worker takes the device at
 *   the head, runs one of its jobs, and puts it back at the tail if it has
 *   more. So between two jobs of one device, every other waiting device gets
 *   one: a good device waits for at most one job per busy device, never for
 *   a flooder's backlog.
 * - One job per device runs at a time (a device's evidence is appraised in
 *   order: its TPM clock and log offsets depend on the one before), and at
 *   most `concurrency` jobs run at once.
 */
export interface FairQueueOptions {
  /** Jobs a single device may have waiting (default 4). */
  readonly perDevice: number;
  /** Jobs waiting over all devices (default 100,000). */
  readonly total: number;
  /** Jobs running at once (default 64). */
  readonly concurrency: number;
}

export const DEFAULT_FAIR_QUEUE_OPTIONS: FairQueueOptions = { perDevice: 4, total: 100_000, concurrency: 64 };

type Job = () => Promise<void>;

export class FairQueue {
  readonly #options: FairQueueOptions;
  readonly #queues = new Map<string, Job[]>();
  /** Devices with waiting jobs and none running, in service order. */
  readonly #ring: string[] = [];
  #ringHead = 0;
  readonly #running = new Set<string>();
  #waiting = 0;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(
    options: Partial<FairQueueOptions> = {},
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.#options = { ...DEFAULT_FAIR_QUEUE_OPTIONS, ...options };
  }

  /** Jobs waiting (not running). */
  get waiting(): number {
    return this.#waiting;
  }

  get running(): number {
    return this.#running.size;
  }

  /** Queues a job for `key`; false (nothing queued) when its queue or the total is full, or the queue is closed. */
  push(key: string, job: Job): boolean {
    if (this.#closed || this.#waiting >= this.#options.total) return false;
    let q = this.#queues.get(key);
    if (q === undefined) {
      q = [];
      this.#queues.set(key, q);
    }
    if (q.length >= this.#options.perDevice) return false;
    q.push(job);
    this.#waiting++;
    if (q.length === 1 && !this.#running.has(key)) this.#ring.push(key);
    this.#pump();
    return true;
  }

  /** Stops taking jobs; resolves once the running ones have finished (waiting ones are dropped). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queues.clear();
    this.#ring.length = 0;
    this.#ringHead = 0;
    this.#waiting = 0;
    if (this.#running.size === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#running.size < this.#options.concurrency && this.#ringHead < this.#ring.length) {
      const key = this.#ring[this.#ringHead++]!;
      if (this.#ringHead > 1024 && this.#ringHead * 2 > this.#ring.length) {
        this.#ring.splice(0, this.#ringHead);
        this.#ringHead = 0;
      }
      const q = this.#queues.get(key);
      const job = q?.shift();
      if (job === undefined) continue;
      this.#waiting--;
      this.#running.add(key);
      void this.#run(key, job);
    }
  }

  async #run(key: string, job: Job): Promise<void> {
    try {
      await job();
    } catch (err) {
      this.onError(err);
    }
    this.#running.delete(key);
    const q = this.#queues.get(key);
    if (q !== undefined && q.length > 0) this.#ring.push(key);
    else this.#queues.delete(key);
    if (this.#running.size === 0 && this.#closed) for (const resolve of this.#idle.splice(0)) resolve();
    this.#pump();
  }
}
