/**
 * Step 3's judgement of a challenge an answer names
 * (server/src/verifier/challenges/answer.ts) with a real ChallengeSeal and a
 * real SQLite store: sealed challenges used once (claimed in the process,
 * the store deciding between processes), refused in the order
 * unknown, other device, used, expired; a replay after expiry still a
 * replay; past the store's retention of uses, unknown; the stored form
 * (issued before sealing) judged by the store.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/harness/pki.js';
import { EXPIRED_KEPT_MS, openSqliteStore, type ChallengeUse, type Store } from '../src/store/index.js';
import { acceptAnswer, processAnswers, type AnswerStore } from '../src/verifier/challenges/answer.js';
import { ChallengeClaims } from '../src/verifier/challenges/claims.js';
import { ChallengeSeal } from '../src/verifier/challenges/sealed-challenge.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';

const DEVICE = 'cam-1';
const NOW = 1_800_000_000_000;
let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
let answers: AnswerStore;
let claims: ChallengeClaims;
const seal = new ChallengeSeal(randomBytes(32));

beforeEach(async () => {
  tmp = await makeTempDir('vigil-answer-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  await enrollPlaceholderDevice(store, DEVICE);
  claims = new ChallengeClaims();
  answers = processAnswers(claims, store, (id, d, now) => store.consumeChallenge(id, d, now));
});

afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

const sealed = (expiresAt = NOW + 30_000) => seal.seal({ deviceId: DEVICE, pcrSelection: { sha256: [0, 7] }, expiresAt, tpmClockAtIssue: { clock: 9n, resetCount: 1, restartCount: 0 } });

describe('acceptAnswer', () => {
  it('accepts a sealed challenge once, with its terms and the use to store with the verdict; the second answer is a replay', async () => {
    const c = sealed();
    expect(await acceptAnswer(seal, answers, c.id, DEVICE, NOW)).toEqual({ ok: true, challenge: c, use: { id: c.id, deviceId: DEVICE, usedAt: NOW, expiresAt: c.expiresAt } });
    // Claimed in this process; the store has it once the verdict is recorded with it.
    expect(await store.isChallengeUsed(c.id, c.expiresAt)).toBe(false);
    expect(await acceptAnswer(seal, answers, c.id, DEVICE, NOW + 1)).toEqual({ ok: false, reason: 'used' });
  });

  it('another process (its own claims) accepts the answer, and the store refuses its use when its verdict is recorded', async () => {
    const c = sealed();
    const mine = await acceptAnswer(seal, answers, c.id, DEVICE, NOW);
    const theirs = await acceptAnswer(seal, processAnswers(new ChallengeClaims(), store, (id, d, now) => store.consumeChallenge(id, d, now)), c.id, DEVICE, NOW + 1);
    if (!mine.ok || mine.use === undefined || !theirs.ok || theirs.use === undefined) throw new Error('both processes accept the answer first');
    const record = (use: ChallengeUse) =>
      store.recordAnswer(use, {
        attestation: { deviceId: DEVICE, challengeId: c.id, receivedAt: use.usedAt, evidenceDigest: 'a'.repeat(64), status: 'affirming', verdict: null, error: null, policy: null, tpmClock: null },
        actor: 'verifier',
      });
    const first = await record(mine.use);
    expect(first === 'used' ? first : first.attestation.challengeId).toBe(c.id);
    expect(await record(theirs.use)).toBe('used');
    expect(await store.listAttestations(DEVICE)).toHaveLength(1);
    // A third process, after the answer expired, learns it from the store.
    expect(await acceptAnswer(seal, processAnswers(new ChallengeClaims(), store, (id, d, now) => store.consumeChallenge(id, d, now)), c.id, DEVICE, c.expiresAt)).toEqual({
      ok: false,
      reason: 'used',
    });
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
    const accepted = await acceptAnswer(seal, answers, c.id, DEVICE, NOW);
    if (!accepted.ok || accepted.use === undefined) throw new Error('not accepted');
    await store.useChallenge(accepted.use);
    // Another process (or this one after a restart) has only the store's record.
    const later = processAnswers(new ChallengeClaims(), store, (id, d, now) => store.consumeChallenge(id, d, now));
    expect(await acceptAnswer(seal, later, c.id, DEVICE, NOW + 10 + EXPIRED_KEPT_MS)).toEqual({ ok: false, reason: 'used' });
    expect(await acceptAnswer(seal, later, c.id, DEVICE, NOW + 11 + EXPIRED_KEPT_MS)).toEqual({ ok: false, reason: 'unknown' });
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
