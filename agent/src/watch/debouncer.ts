/**
 * Coalesces a burst of events into one call: `fire` runs `quietMs` after
 * the last `poke`, but never later than `maxDelayMs` after the first poke of
 * the burst, so a file written continuously is still handled regularly.
 * No timer runs while there is nothing to do.
 */
export class Debouncer {
  #timer: NodeJS.Timeout | undefined;
  #burstStart: number | undefined;
  #stopped = false;

  constructor(
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
    private readonly fire: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  poke(): void {
    if (this.#stopped) return;
    const now = this.now();
    this.#burstStart ??= now;
    const deadline = this.#burstStart + Math.max(this.maxDelayMs, 0);
    const delay = Math.max(0, Math.min(this.quietMs, deadline - now));
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#burstStart = undefined;
      this.fire();
    }, delay);
  }

  get pending(): boolean {
    return this.#timer !== undefined;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
