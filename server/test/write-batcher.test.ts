/**
 * WriteBatcher (server/src/verifier/state/write-batcher.ts), the verifier's
 * group commit, as pure logic under fake timers: which writes share a
 * batch, when a batch runs, when a write waits for company and when it
 * does not, and that each caller gets its own outcome.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteBatcher, type WriteBatcherOptions } from '../src/verifier/state/write-batcher.js';

/** A batcher whose flush records each batch and answers input * 10 (or fails on a negative input). */
function recorder(options?: WriteBatcherOptions): { batcher: WriteBatcher<number, number>; batches: number[][] } {
  const batches: number[][] = [];
  const batcher = new WriteBatcher<number, number>(
    async (inputs) => {
      batches.push([...inputs]);
      if (inputs.some((i) => i < 0)) throw new Error(`batch ${batches.length} failed`);
      return inputs.map((i) => i * 10);
    },
    { now: () => Date.now(), ...options },
  );
  return { batcher, batches };
}

/** Writes coming thick and fast (many at one instant), committed, then forgotten: the batcher now expects company. */
async function busy(r: { batcher: WriteBatcher<number, number>; batches: number[][] }): Promise<void> {
  const outs = Array.from({ length: 24 }, (_, i) => r.batcher.submit(1000 + i));
  await vi.runAllTimersAsync();
  await Promise.all(outs);
  r.batches.length = 0;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WriteBatcher', () => {
  it('without a window: the writes of one turn of the event loop are one batch', async () => {
    const { batcher, batches } = recorder();
    const first = [1, 2, 3].map((i) => batcher.submit(i));
    await vi.advanceTimersByTimeAsync(0);
    const second = [4, 5].map((i) => batcher.submit(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('with a window: an idle batcher waits windowMs for more writes, then runs them together', async () => {
    const r = recorder({ windowMs: 5, fillTo: 16 });
    const { batcher, batches } = r;
    await busy(r);
    const outs = [batcher.submit(1)];
    await vi.advanceTimersByTimeAsync(2);
    outs.push(batcher.submit(2));
    await vi.advanceTimersByTimeAsync(2);
    outs.push(batcher.submit(3));
    expect(batches).toEqual([]); // 4 ms after the first write: still open
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await Promise.all(outs)).toEqual([10, 20, 30]);
  });

  it('a window closes as soon as fillTo writes wait', async () => {
    const r = recorder({ windowMs: 1000, fillTo: 4 });
    const { batcher, batches } = r;
    await busy(r);
    const outs = [1, 2, 3, 4].map((i) => batcher.submit(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1, 2, 3, 4]]);
    expect(await Promise.all(outs)).toEqual([10, 20, 30, 40]);
  });

  it('writes that arrive while a batch runs make the next batch at once, with no new window', async () => {
    let release: (() => void) | undefined;
    let hold = false;
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number, number>(
      async (inputs) => {
        batches.push([...inputs]);
        if (hold) {
          hold = false;
          await new Promise<void>((r) => (release = r));
        }
        return inputs;
      },
      { windowMs: 50, fillTo: 16, now: () => Date.now() },
    );
    await busy({ batcher, batches });
    hold = true;
    const a = batcher.submit(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(batches).toEqual([[1]]);
    const b = [batcher.submit(2), batcher.submit(3)];
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1], [2, 3]]);
    expect(await Promise.all([a, ...b])).toEqual([1, 2, 3]);
  });

  it('a failed batch fails only its own callers; the next batch goes through', async () => {
    const { batcher, batches } = recorder();
    const failed = [batcher.submit(1), batcher.submit(-1)];
    const settled = Promise.allSettled(failed);
    await vi.advanceTimersByTimeAsync(0);
    const ok = batcher.submit(2);
    await vi.advanceTimersByTimeAsync(0);
    expect((await settled).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await ok).toBe(20);
    expect(batches).toEqual([[1, -1], [2]]);
  });

  it('at most maxBatch writes per batch, the rest in the next', async () => {
    const { batcher, batches } = recorder({ maxBatch: 3 });
    const outs = [1, 2, 3, 4, 5, 6, 7].map((i) => batcher.submit(i));
    await vi.runAllTimersAsync();
    expect(await Promise.all(outs)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('drain commits an open window at once and resolves once nothing waits', async () => {
    const r = recorder({ windowMs: 1000, fillTo: 16 });
    const { batcher, batches } = r;
    await busy(r);
    const outs = [batcher.submit(1), batcher.submit(2)];
    const drained = batcher.drain();
    await vi.advanceTimersByTimeAsync(0);
    await drained;
    expect(batches).toEqual([[1, 2]]);
    expect(await Promise.all(outs)).toEqual([10, 20]);
    await batcher.drain(); // idle: resolves at once
    expect(batches).toHaveLength(1);
  });

  it('writes that come less often than the window do not wait: the first ever, and each after a quiet spell', async () => {
    const r = recorder({ windowMs: 5, fillTo: 16 });
    const { batcher, batches } = r;
    const first = batcher.submit(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1]]); // nothing came before it: no window
    expect(await first).toBe(10);
    await busy(r);
    // Then one write every 20 ms: the average gap passes the window within a few.
    for (let i = 0; i < 8; i++) {
      await vi.advanceTimersByTimeAsync(20);
      void batcher.submit(i);
    }
    await vi.advanceTimersByTimeAsync(0);
    batches.length = 0;
    await vi.advanceTimersByTimeAsync(20);
    const lone = batcher.submit(42);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[42]]);
    expect(await lone).toBe(420);
  });
});
