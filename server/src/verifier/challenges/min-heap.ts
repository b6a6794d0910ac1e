/**
 * An indexed binary min-heap of `(due, key)`, one entry per key: the
 * attestation schedule of a whole fleet under one timer. Setting a key's due
 * time moves its one entry (O(log n) through a key → position map), and
 * deleting a key takes its entry out, so the heap holds exactly the
 * scheduled devices.
 *
 * Why not a plain heap with superseded entries dropped when they surface:
 * every verdict reschedules its device, so at 1,300 verdicts/s and a 20 s
 * interval such a heap held ~26,000 dead entries for 1,000 devices, and
 * whole runs of them surfaced together: 26 ms of event loop popping them in
 * one go (a CPU profile, docs/benchmarks.md "Twentieth round").
 */
export interface HeapEntry<K> {
  readonly due: number;
  readonly key: K;
}

interface Slot<K> {
  due: number;
  readonly key: K;
}

export class MinHeap<K> {
  readonly #items: Slot<K>[] = [];
  readonly #position = new Map<K, number>();

  get size(): number {
    return this.#items.length;
  }

  has(key: K): boolean {
    return this.#position.has(key);
  }

  peek(): HeapEntry<K> | undefined {
    return this.#items[0];
  }

  /** Schedules `key` at `due`: its entry is added, or moved if it has one. */
  set(key: K, due: number): void {
    const at = this.#position.get(key);
    if (at === undefined) {
      this.#items.push({ due, key });
      this.#position.set(key, this.#items.length - 1);
      this.#up(this.#items.length - 1);
      return;
    }
    const slot = this.#items[at]!;
    const earlier = due < slot.due;
    slot.due = due;
    if (earlier) this.#up(at);
    else this.#down(at);
  }

  /** Takes `key`'s entry out; false if it had none. */
  delete(key: K): boolean {
    const at = this.#position.get(key);
    if (at === undefined) return false;
    this.#removeAt(at);
    return true;
  }

  /** The earliest entry, taken out. */
  pop(): HeapEntry<K> | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.#removeAt(0);
    return top === undefined ? undefined : { due: top.due, key: top.key };
  }

  #removeAt(at: number): void {
    const a = this.#items;
    const gone = a[at]!;
    this.#position.delete(gone.key);
    const last = a.pop()!;
    if (at === a.length) return;
    a[at] = last;
    this.#position.set(last.key, at);
    // The moved entry may belong above or below its new place.
    if (at > 0 && last.due < a[(at - 1) >> 1]!.due) this.#up(at);
    else this.#down(at);
  }

  #up(i: number): void {
    const a = this.#items;
    const slot = a[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (p.due <= slot.due) break;
      a[i] = p;
      this.#position.set(p.key, i);
      i = parent;
    }
    a[i] = slot;
    this.#position.set(slot.key, i);
  }

  #down(i: number): void {
    const a = this.#items;
    const n = a.length;
    const slot = a[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.due < a[l]!.due ? r : l;
      const child = a[c]!;
      if (child.due >= slot.due) break;
      a[i] = child;
      this.#position.set(child.key, i);
      i = c;
    }
    a[i] = slot;
    this.#position.set(slot.key, i);
  }
}
