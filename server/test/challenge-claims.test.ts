/**
 * ChallengeClaims (server/src/verifier/challenges/claims.ts): a sealed
 * challenge is claimed once per verifier process; entries go once expired,
 * in sweeps, so the set holds only what answers can still name.
 */
import { describe, expect, it } from 'vitest';
import { ChallengeClaims } from '../src/verifier/challenges/claims.js';

const T0 = 1_800_000_000_000;

describe('ChallengeClaims', () => {
  it('claims a challenge once; another challenge is claimed on its own', () => {
    const claims = new ChallengeClaims(1000);
    expect(claims.claim('a', T0 + 30_000, T0)).toBe(true);
    expect(claims.has('a')).toBe(true);
    expect(claims.claim('a', T0 + 30_000, T0 + 1)).toBe(false);
    expect(claims.has('b')).toBe(false);
    expect(claims.claim('b', T0 + 30_000, T0 + 2)).toBe(true);
    expect(claims.size).toBe(2);
  });

  it('keeps a claim until its challenge expired and a sweep came, then lets it go', () => {
    const claims = new ChallengeClaims(1000);
    claims.claim('a', T0 + 10, T0);
    claims.claim('b', T0 + 5_000, T0 + 1);
    // Expired, but no sweep is due before T0 + 1000: still claimed.
    expect(claims.claim('c', T0 + 5_000, T0 + 500)).toBe(true);
    expect(claims.has('a')).toBe(true);
    // The next claim after the sweep interval sweeps: a (expired) goes, b and c (live) stay.
    expect(claims.claim('d', T0 + 6_000, T0 + 1_000)).toBe(true);
    expect(claims.has('a')).toBe(false);
    expect([claims.has('b'), claims.has('c'), claims.has('d')]).toEqual([true, true, true]);
    expect(claims.size).toBe(3);
  });

  it('an entry out of expiry order stays until the entries before it expire, never longer than needed for safety', () => {
    const claims = new ChallengeClaims(1000);
    claims.claim('long', T0 + 60_000, T0);
    claims.claim('short', T0 + 10, T0 + 1);
    // Swept from the oldest: the first entry is live, so the sweep stops there and 'short' stays claimed.
    claims.claim('x', T0 + 60_000, T0 + 2_000);
    expect(claims.has('short')).toBe(true);
    // Once the oldest expires too, both go.
    claims.claim('y', T0 + 120_000, T0 + 60_000);
    expect(claims.has('long')).toBe(false);
    expect(claims.has('short')).toBe(false);
    expect(claims.has('y')).toBe(true);
  });

  it('a steady stream holds about rate × lifetime claims', () => {
    const claims = new ChallengeClaims(1000);
    const ttl = 30_000;
    // 100 claims a second for five lifetimes.
    for (let i = 0; i < 5 * 3000; i++) {
      const now = T0 + i * 10;
      expect(claims.claim(`c${i}`, now + ttl, now)).toBe(true);
    }
    // 3,000 live plus at most one sweep interval's worth of expired ones.
    expect(claims.size).toBeGreaterThanOrEqual(3000);
    expect(claims.size).toBeLessThanOrEqual(3000 + 100);
  });
});
