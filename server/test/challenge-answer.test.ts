/**
 * Step 3's judgement of a challenge an answer names
 * (server/src/verifier/challenges/answer.ts) with a real ChallengeSeal and a
 * real SQLite store: sealed challenges used once, refused in the order
 * unknown, other device, used, expired; a replay after expiry still a
 * replay; past the store's retention of uses, unknown; the stored form
 * (issued before sealing) judged by the store.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/harness/pki.js';
import { EXPIRED_KEPT_MS, openSqliteStore, type Store } from '../src/store/index.js';
import { acceptAnswer, type AnswerStore } from '../src/verifier/challenges/answer.js';
import { ChallengeSeal } from '../src/verifier/challenges/sealed-challenge.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';

const DEVICE = 'cam-1';
const NOW = 1_800_000_000_000;
let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
let answers: AnswerStore;
const seal = new ChallengeSeal(randomBytes(32));

beforeEach(async () => {
  tmp = await makeTempDir('vigil-answer-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  await enrollPlaceholderDevice(store, DEVICE);
  answers = { use: (u) => store.useChallenge(u), isUsed: (id, expiresAt) => store.isChallengeUsed(id, expiresAt), consumeStored: (id, d, now) => store.consumeChallenge(id, d, now) };
});

afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

const sealed = (expiresAt = NOW + 30_000) => seal.seal({ deviceId: DEVICE, pcrSelection: { sha256: [0, 7] }, expiresAt, tpmClockAtIssue: { clock: 9n, resetCount: 1, restartCount: 0 } });

describe('acceptAnswer', () => {
  it('accepts a sealed challenge once, with its terms, and records the use; the second answer is a replay', async () => {
    const c = sealed();
    expect(await acceptAnswer(seal, answers, c.id, DEVICE, NOW)).toEqual({ ok: true, challenge: c });
    expect(await store.isChallengeUsed(c.id, c.expiresAt)).toBe(true);
    expect(await acceptAnswer(seal, answers, c.id, DEVICE, NOW + 1)).toEqual({ ok: false, reason: 'used' });
  });

  it('refuses another device’s challenge and another key’s, recording nothing', async () => {
    const other = seal.seal({ deviceId: 'cam-2', pcrSelection: { sha256: [0] }, expiresAt: NOW + 30_000, tpmClockAtIssue: null });
    expect(await acceptAnswer(seal, answers, other.id, DEVICE, NOW)).toEqual({ ok: false, reason: 'other-device' });
    const foreign = new ChallengeSeal(randomBytes(32)).seal({ deviceId: DEVICE, pcrSelection: { sha256: [0] }, expiresAt: NOW + 30_000, tpmClockAtIssue: null });
    expect(await acceptAnswer(seal, answers, foreign.id, DEVICE, NOW)).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.isChallengeUsed(other.id, other.expiresAt)).toBe(false);
    expect(await store.isChallengeUsed(foreign.id, foreign.expiresAt)).toBe(false);
  });

  it('an expired challenge: late if never used (and still not used after), a replay if it was', async () => {
    const late = sealed(NOW);
    expect(await acceptAnswer(seal, answers, late.id, DEVICE, NOW)).toEqual({ ok: false, reason: 'expired' });
    expect(await store.isChallengeUsed(late.id, late.expiresAt)).toBe(false);
    const answered = sealed(NOW + 10);
    expect((await acceptAnswer(seal, answers, answered.id, DEVICE, NOW)).ok).toBe(true);
    expect(await acceptAnswer(seal, answers, answered.id, DEVICE, NOW + 10)).toEqual({ ok: false, reason: 'used' });
  });

  it('past the retention of uses, a sealed challenge is unknown, used or not', async () => {
    const c = sealed(NOW + 10);
    expect((await acceptAnswer(seal, answers, c.id, DEVICE, NOW)).ok).toBe(true);
    expect(await acceptAnswer(seal, answers, c.id, DEVICE, NOW + 10 + EXPIRED_KEPT_MS)).toEqual({ ok: false, reason: 'used' });
    expect(await acceptAnswer(seal, answers, c.id, DEVICE, NOW + 11 + EXPIRED_KEPT_MS)).toEqual({ ok: false, reason: 'unknown' });
    expect(await acceptAnswer(seal, answers, sealed(NOW).id, DEVICE, NOW + 1 + EXPIRED_KEPT_MS)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('a challenge of the stored form (issued before sealing) is consumed from the store', async () => {
    const id = '0190d3c4a1b2' + randomBytes(12).toString('base64url');
    await store.createChallenge({ id, deviceId: DEVICE, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: Date.now() + 60_000 });
    const first = await acceptAnswer(seal, answers, id, DEVICE, Date.now());
    expect(first.ok && first.challenge.id).toBe(id);
    expect(await acceptAnswer(seal, answers, id, DEVICE, Date.now())).toEqual({ ok: false, reason: 'used' });
    expect(await acceptAnswer(seal, answers, 'NeverIssuedChallenge00', DEVICE, Date.now())).toEqual({ ok: false, reason: 'unknown' });
  });
});
