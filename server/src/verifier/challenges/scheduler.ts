import { MinHeap } from './min-heap.js';

export interface SchedulerOptions {
  readonly intervalMs: number;
  /** Fraction (0..0.5) each interval is spread either way. */
  readonly jitter: number;
  /** At most this many devices are handed out per timer tick; the rest follow on the next turn of the event loop. */
  readonly batch?: number;
  /**
   * Timer ticks are at least this far apart, ms (default `tickFor(intervalMs)`):
   * a device falls due up to this much late, together with the others due by then.
   */
  readonly tickMs?: number;
}

/** Longest wait between ticks, ms. */
const MAX_TICK_MS = 50;

/**
 * The default spacing of timer ticks: 50 ms, or a twentieth of the interval
 * when that is shorter, so a device is never more than 5 % of its interval
 * late (the default jitter spreads each interval by 10 % either way).
 *
 * Why ticks are spaced at all: with every device at its own phase, a timer
 * set for each next due time fires for one or two devices at a time at
 * fleet rates, and each challenge then runs alone, its store read and its
 * evidence's appraisal cold, each answer in its own commit. Handing out
 * what fell due over the last 50 ms together costs ~25 % less
 * server CPU per verdict (docs/benchmarks.md, "Fifteenth round").
 */
export function tickFor(intervalMs: number): number {
  return Math.min(MAX_TICK_MS, intervalMs / 20);
}

/**
 * When each device is next challenged: a min-heap of due times under a
 * single timer, so a fleet of any size costs one `setTimeout`. Every device
 * has its own phase (first due at a random point of the first interval) and
 * each next due time is one interval later, ±jitter. The timer fires no
 * sooner than `tickMs` after it last fired and hands out every device due
 * by then (`tickFor`). A device has one entry: rescheduling moves it,
 * removing takes it out (`MinHeap`).
 */
export class AttestationScheduler {
  readonly #heap = new MinHeap<string>();
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (Infinity: none is armed). */
  #timerDue = Infinity;
  /** When the timer last fired; the next tick is not before this plus `#tickMs`. */
  #firedAt = Number.NEGATIVE_INFINITY;
  readonly #tickMs: number;
  #running = false;
  #firing = false;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly onDue: (deviceId: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.#tickMs = options.tickMs ?? tickFor(options.intervalMs);
  }

  get size(): number {
    return this.#heap.size;
  }

  start(): void {
    this.#running = true;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }

  /** Adds a device at a random phase of the interval, unless it is already scheduled. */
  add(deviceId: string): void {
    if (this.#heap.has(deviceId)) return;
    this.#at(deviceId, this.now() + Math.random() * this.options.intervalMs);
  }

  /** The device was just challenged: next one interval (±jitter) from now. */
  reschedule(deviceId: string): void {
    this.#at(deviceId, this.now() + this.#interval());
  }

  remove(deviceId: string): void {
    this.#heap.delete(deviceId);
  }

  /** The due time of a device, for tests and `device show`. */
  has(deviceId: string): boolean {
    return this.#heap.has(deviceId);
  }

  #interval(): number {
    const j = this.options.jitter;
    return this.options.intervalMs * (1 - j + 2 * j * Math.random());
  }

  #at(deviceId: string, due: number): void {
    this.#heap.set(deviceId, due);
    if (!this.#firing && due < this.#timerDue) this.#arm();
  }

  #arm(): void {
    if (!this.#running) return;
    const top = this.#heap.peek();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    if (top === undefined) return;
    this.#timerDue = Math.max(top.due, this.#firedAt + this.#tickMs);
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, this.#timerDue - this.now()));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = this.now();
    this.#firedAt = now;
    const batch = this.options.batch ?? 1000;
    let handed = 0;
    this.#firing = true;
    for (let top = this.#heap.peek(); top !== undefined && top.due <= now && handed < batch; top = this.#heap.peek()) {
      this.#heap.pop();
      handed++;
      // Next turn is scheduled before the callback runs, so a device is never lost from the schedule.
      this.#at(top.key, now + this.#interval());
      try {
        this.onDue(top.key);
      } catch {
        // onDue reports its own errors; one device must not stop the schedule.
      }
    }
    this.#firing = false;
    if (handed >= batch) setImmediate(() => this.#fire());
    else this.#arm();
  }
}
