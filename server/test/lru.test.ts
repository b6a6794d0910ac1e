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

  it('get marks a key used: it outlives a key set after it', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(keys(lru, ['a', 'b', 'c'])).toEqual(['a', 'c']);
  });

  it('peek reads without marking: the key peeked is still the first to go', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.peek('a')).toBe(1);
    lru.set('c', 3);
    expect(keys(lru, ['a', 'b', 'c'])).toEqual(['b', 'c']);
    expect(lru.peek('a')).toBeUndefined();
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new Lru(0)).toThrow(RangeError);
    expect(() => new Lru(1.5)).toThrow(RangeError);
  });
});
