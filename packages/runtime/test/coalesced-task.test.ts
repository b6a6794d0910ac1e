import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoalescedTask } from '../src/coalesced-task.js';

/** Lets every promise reaction that can run, run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A CoalescedTask whose passes the test ends one by one, with a clock of events. */
function harness() {
  let clock = 0;
  const passes: { startedAt: number; endedAt?: number; ok?: boolean; end: (ok: boolean) => void }[] = [];
  let inProgress = 0;
  let maxInProgress = 0;
  const task = new CoalescedTask(
    () =>
      new Promise<void>((resolve, reject) => {
        inProgress++;
        maxInProgress = Math.max(maxInProgress, inProgress);
        const pass: (typeof passes)[number] = {
          startedAt: ++clock,
          end: (ok) => {
            inProgress--;
            pass.endedAt = ++clock;
            pass.ok = ok;
            if (ok) resolve();
            else reject(new Error(`pass ${passes.indexOf(pass)} failed`));
          },
        };
        passes.push(pass);
      }),
  );
  const requests: { madeAt: number; settledAt?: number; ok?: boolean }[] = [];
  const request = (): void => {
    const r: (typeof requests)[number] = { madeAt: ++clock };
    requests.push(r);
    task.run().then(
      () => Object.assign(r, { settledAt: ++clock, ok: true }),
      () => Object.assign(r, { settledAt: ++clock, ok: false }),
    );
  };
  const pending = () => passes.filter((p) => p.endedAt === undefined);
  return { task, passes, requests, request, pending, maxInProgress: () => maxInProgress };
}

describe('CoalescedTask', () => {
  it('serves a burst of requests made during a pass with one more pass', async () => {
    const h = harness();
    h.request();
    await flush();
    for (let i = 0; i < 5; i++) h.request();
    await flush();
    expect(h.passes).toHaveLength(1);
    h.pending()[0]!.end(true);
    await flush();
    // The first request waits for the loop it started, chained pass included.
    expect(h.requests.every((r) => r.settledAt === undefined)).toBe(true);
    expect(h.passes).toHaveLength(2);
    h.pending()[0]!.end(true);
    await flush();
    expect(h.requests.every((r) => r.ok === true)).toBe(true);
    expect(h.passes).toHaveLength(2);
    await h.task.settled();
  });

  it('rejects the requests a failed pass was serving, and starts afresh on the next', async () => {
    const h = harness();
    h.request();
    await flush();
    h.request();
    h.pending()[0]!.end(false);
    await flush();
    expect(h.requests.map((r) => r.ok)).toEqual([false, false]);
    await h.task.settled();
    h.request();
    await flush();
    expect(h.passes).toHaveLength(2);
    h.pending()[0]!.end(true);
    await flush();
    expect(h.requests[2]!.ok).toBe(true);
  });

  it('whatever the interleaving: one pass at a time, never more passes than requests, and every request answered by a pass that started after it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('request', 'succeed', 'fail'), { maxLength: 40 }), async (steps) => {
        const h = harness();
        for (const step of steps) {
          if (step === 'request') h.request();
          else h.pending()[0]?.end(step === 'succeed');
          await flush();
        }
        // Drain: every request must settle once the passes end.
        for (let guard = 0; h.pending().length > 0; guard++) {
          expect(guard).toBeLessThan(100);
          h.pending()[0]!.end(true);
          await flush();
        }
        await h.task.settled();
        expect(h.maxInProgress()).toBeLessThanOrEqual(1);
        expect(h.passes.length).toBeLessThanOrEqual(h.requests.length);
        for (const r of h.requests) {
          expect(r.settledAt).toBeDefined();
          if (r.ok) {
            const served = h.passes.some((p) => p.ok === true && p.startedAt > r.madeAt && p.endedAt! < r.settledAt!);
            expect(served, `request made at ${r.madeAt}`).toBe(true);
          } else {
            expect(h.passes.some((p) => p.ok === false && p.endedAt! > r.madeAt && p.endedAt! < r.settledAt!)).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
