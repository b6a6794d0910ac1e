import { expect } from 'vitest';
import type { Store } from '../src/store/index.js';

/**
 * What migration 6 (challenge uses keyed by expiry, then id) must keep, on
 * either store: given a version-5 database holding device `dev-1`'s use
 * `old` (expired at 10) and `live` (expiring at `far`), after the upgrade
 * both are still recorded, a replay of `live` is still refused, and the
 * prune by expiry removes `old` alone.
 */
export async function expectUsesKeptAcrossMigration6(store: Store, uses: { readonly old: string; readonly live: string; readonly far: number }): Promise<void> {
  const { old, live, far } = uses;
  expect(await store.isChallengeUsed(old, 10)).toBe(true);
  expect(await store.isChallengeUsed(live, far)).toBe(true);
  expect(await store.useChallenge({ id: live, deviceId: 'dev-1', usedAt: 6, expiresAt: far })).toBe(false);
  expect(await store.pruneExpired(11)).toEqual({ challenges: 1, sessions: 0 });
  expect(await store.isChallengeUsed(old, 10)).toBe(false);
  expect(await store.isChallengeUsed(live, far)).toBe(true);
}
