/** Messages of one kind, in arrival order; `take` awaits the first not yet taken that matches. */
export class Inbox<T> {
  readonly items: T[] = [];
  readonly #taken = new Set<T>();
  readonly #waiters: Array<{ match: (t: T) => boolean; resolve: (t: T) => void }> = [];

  /** `keep: false` keeps nothing that no waiter takes (a long-running fleet must not grow). */
  constructor(private readonly keep = true) {}

  push(item: T): void {
    const i = this.#waiters.findIndex((w) => w.match(item));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      if (this.keep) {
        this.items.push(item);
        this.#taken.add(item);
      }
      w!.resolve(item);
      return;
    }
    if (this.keep) this.items.push(item);
  }

  take(match: (t: T) => boolean = () => true): Promise<T> {
    const found = this.items.find((t) => !this.#taken.has(t) && match(t));
    if (found !== undefined) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Marks everything already here as taken: the next `take` waits for what arrives after this. */
  drain(): void {
    for (const t of this.items) this.#taken.add(t);
  }
}
