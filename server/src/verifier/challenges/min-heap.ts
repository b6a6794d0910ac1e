/**
 * A binary min-heap of `(due, key)`: the attestation schedule of a whole
 * fleet under one timer. Push and pop are O(log n); 10,000 devices cost
 * 10,000 small entries and one `setTimeout`, not 10,000 timers.
 */
export interface HeapEntry<K> {
  readonly due: number;
  readonly key: K;
  /** Generation stamp: an entry whose stamp is not the key's current one was superseded (lazy deletion). */
  readonly stamp: number;
}

export class MinHeap<K> {
  readonly #items: HeapEntry<K>[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): HeapEntry<K> | undefined {
    return this.#items[0];
  }

  push(entry: HeapEntry<K>): void {
    const a = this.#items;
    a.push(entry);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.due <= a[i]!.due) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): HeapEntry<K> | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.due < a[m]!.due) m = l;
        if (r < a.length && a[r]!.due < a[m]!.due) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
