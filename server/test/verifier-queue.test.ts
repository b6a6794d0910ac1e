import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FairQueue } from '../src/verifier/queue/fair-queue.js';
import { MinHeap } from '../src/verifier/challenges/min-heap.js';

/** A job that runs until the test lets it finish, recording when it started. */
function gatedJob(log: string[], name: string): { job: () => Promise<void>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    job: async () => {
      log.push(name);
      await done;
    },
    finish: () => finish(),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FairQueue: one device cannot delay the others', () => {
  it('refuses what does not fit in a device’s own queue, at once, and never what fits in another’s', () => {
    const q = new FairQueue({ perDevice: 3, concurrency: 1 });
    const log: string[] = [];
    const accepted = Array.from({ length: 10 }, (_, i) => q.push('flooder', gatedJob(log, `f${i}`).job));
    // One runs at once (concurrency 1) and three wait: the rest are refused.
    expect(accepted.filter(Boolean)).toHaveLength(4);
    expect(accepted.slice(4).every((a) => !a)).toBe(true);
    expect(q.push('good', gatedJob(log, 'g0').job)).toBe(true);
    expect(q.waiting).toBe(4);
  });

  it('serves devices round-robin: the good device waits for the running job only, not the flooder’s backlog', async () => {
    const q = new FairQueue({ perDevice: 4, concurrency: 1 });
    const log: string[] = [];
    const flood = Array.from({ length: 5 }, (_, i) => gatedJob(log, `f${i}`));
    for (const f of flood) expect(q.push('flooder', f.job)).toBe(true);
    const good = gatedJob(log, 'g0');
    q.push('good', good.job);
    await tick();
    expect(log).toEqual(['f0']);
    flood[0]!.finish();
    await tick();
    // Next: the good device, before f1..f4.
    expect(log).toEqual(['f0', 'g0']);
    good.finish();
    for (const f of flood.slice(1)) {
      await tick();
      f.finish();
    }
    await tick();
    expect(log).toEqual(['f0', 'g0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('runs at most one job per device at a time, in order, and up to `concurrency` devices at once', async () => {
    const q = new FairQueue({ perDevice: 10, concurrency: 2 });
    const log: string[] = [];
    const a = [gatedJob(log, 'a0'), gatedJob(log, 'a1')];
    const b = [gatedJob(log, 'b0')];
    const c = [gatedJob(log, 'c0')];
    for (const j of a) q.push('a', j.job);
    q.push('b', b[0]!.job);
    q.push('c', c[0]!.job);
    await tick();
    expect(log).toEqual(['a0', 'b0']);
    expect(q.running).toBe(2);
    a[0]!.finish();
    await tick();
    // a's second job waits its turn behind c.
    expect(log).toEqual(['a0', 'b0', 'c0']);
    b[0]!.finish();
    await tick();
    expect(log).toEqual(['a0', 'b0', 'c0', 'a1']);
    c[0]!.finish();
    a[1]!.finish();
    await q.close();
  });

  it('a job that throws is reported and does not stop the queue', async () => {
    const errors: unknown[] = [];
    const q = new FairQueue({ concurrency: 1 }, (err) => errors.push(err));
    const ran: string[] = [];
    q.push('a', async () => {
      throw new Error('boom');
    });
    q.push('b', async () => {
      ran.push('b');
    });
    await tick();
    await tick();
    expect(errors).toHaveLength(1);
    expect(ran).toEqual(['b']);
  });

  it('property: whatever the arrival order, each device’s jobs run in arrival order and every accepted job runs once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), async (arrivals, concurrency) => {
        const q = new FairQueue({ perDevice: 5, concurrency });
        const ran: string[] = [];
        const accepted: string[] = [];
        arrivals.forEach((device, i) => {
          if (q.push(device, async () => {
            await tick();
            ran.push(`${device}:${i}`);
          })) accepted.push(`${device}:${i}`);
        });
        while (q.running + q.waiting > 0) await tick();
        expect([...ran].sort()).toEqual([...accepted].sort());
        for (const device of ['a', 'b', 'c', 'd']) {
          const order = ran.filter((r) => r.startsWith(`${device}:`)).map((r) => Number(r.slice(2)));
          expect(order).toEqual([...order].sort((x, y) => x - y));
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('MinHeap (the schedule of the whole fleet under one timer)', () => {
  it('property: after any sets (new or moved) and deletes, pops each live key once, in due order, at its last due time', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 40 }), due: fc.integer({ min: 0, max: 1e6 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const heap = new MinHeap<number>();
        const model = new Map<number, number>();
        const earliest = () => Math.min(...model.values());
        for (const o of ops) {
          if (o.kind === 'set') {
            heap.set(o.key, o.due);
            model.set(o.key, o.due);
          } else if (o.kind === 'delete') {
            expect(heap.delete(o.key)).toBe(model.delete(o.key));
          } else {
            const e = heap.pop();
            if (model.size === 0) expect(e).toBeUndefined();
            else {
              expect(e!.due).toBe(earliest());
              expect(model.get(e!.key)).toBe(e!.due);
              model.delete(e!.key);
            }
          }
          expect(heap.size).toBe(model.size);
          expect(heap.peek()?.due).toBe(model.size === 0 ? undefined : earliest());
        }
        const out: Array<[number, number]> = [];
        for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push([e.key, e.due]);
        expect(out.map(([, due]) => due)).toEqual([...model.values()].sort((x, y) => x - y));
        expect(new Map(out)).toEqual(model);
      }),
    );
  });

  it('a deleted inner entry whose place takes a smaller one from another branch: that one moves up', () => {
    const heap = new MinHeap<string>();
    // Found by search: deleting k98 (an inner slot by then) moves the last entry, k33, under a larger parent.
    const dues = [98, 22, 8, 64, 53, 67, 4, 44, 56, 48, 82, 69, 6, 33];
    for (const due of dues) heap.set(`k${due}`, due);
    heap.delete('k98');
    const out: number[] = [];
    for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e.due);
    expect(out).toEqual(dues.filter((d) => d !== 98).sort((x, y) => x - y));
  });

  it('holds one entry per key however often it is rescheduled', () => {
    const heap = new MinHeap<string>();
    for (let round = 0; round < 50; round++) for (let d = 0; d < 100; d++) heap.set(`d${d}`, round * 1_000 + ((d * 37) % 100));
    expect(heap.size).toBe(100);
    expect(heap.peek()).toEqual({ due: 49_000, key: 'd0' });
  });
});
