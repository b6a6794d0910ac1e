/**
 * The bounded LRU map behind the verifier's caches (server/src/verifier/state/lru.ts):
 * the least recently used key goes first; `get` marks a key used, `peek` does not.
 */
import { describe, expect, it } from 'vitest';
import { Lru } from '../src/verifier/state/lru.js';

function keys(lru: Lru<string, number>, all: readonly string[]): string[] {
  return all.filter((k) => lru.peek(k) !== undefined);
}

describe('Lru', () => {
  it('evicts the least recently set key once over capacity', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(keys(lru, ['a', 'b', 'c'])).toEqual(['b', 'c']);
    expect(lru.size).toBe(2);
  });

  // `get` marks a key used, so it outlives a key set after it; `peek` reads without marking, so the
  // key peeked is still the first to go.
  it.each([
    ['get', ['a', 'c']],
    ['peek', ['b', 'c']],
  ] as const)('%s of the oldest key, then one more set: %j are kept', (read, kept) => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru[read]('a')).toBe(1);
    lru.set('c', 3);
    expect(keys(lru, ['a', 'b', 'c'])).toEqual(kept);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new Lru(0)).toThrow(RangeError);
    expect(() => new Lru(1.5)).toThrow(RangeError);
  });
});
