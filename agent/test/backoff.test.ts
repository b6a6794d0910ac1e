import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/daemon/backoff.js';

describe('Backoff', () => {
  it('draws every delay from [ceiling/2, ceiling], ceilings doubling up to the maximum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1, maxLength: 80 }),
        (initialMs, factor, randoms) => {
          const maxMs = initialMs * factor;
          let i = 0;
          const b = new Backoff({ initialMs, maxMs, random: () => randoms[i++ % randoms.length]! });
          let previousCeiling = 0;
          for (let n = 0; n < randoms.length; n++) {
            const ceiling = b.ceiling();
            expect(ceiling).toBe(Math.min(maxMs, initialMs * 2 ** n));
            expect(ceiling).toBeGreaterThanOrEqual(previousCeiling);
            const d = b.next();
            expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
            expect(d).toBeLessThanOrEqual(ceiling);
            previousCeiling = ceiling;
          }
          expect(b.attempt).toBe(randoms.length);
        },
      ),
    );
  });

  it('never exceeds the maximum however many attempts, and starts over after reset', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 300_000, random: () => 0.999999 });
    for (let n = 0; n < 5000; n++) expect(b.next()).toBeLessThanOrEqual(300_000);
    b.reset();
    expect(b.ceiling()).toBe(1000);
    expect(b.next()).toBeLessThanOrEqual(1000);
  });

  it('spreads a fleet: the same attempt gets different delays with different random draws', () => {
    const delays = new Set<number>();
    for (let k = 0; k < 20; k++) {
      const b = new Backoff({ initialMs: 1000, maxMs: 300_000 });
      for (let n = 0; n < 5; n++) b.next();
      delays.add(b.next());
    }
    expect(delays.size).toBeGreaterThan(1);
  });

  it('refuses nonsense bounds', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: Number.NaN, maxMs: 5 })).toThrow(RangeError);
  });
});
