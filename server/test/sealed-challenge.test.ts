/**
 * Sealed challenges (server/src/verifier/challenges/sealed-challenge.ts):
 * what is sealed opens again for the same device with the same key, exactly;
 * any change to the id, another key or another device is refused with its
 * named reason; no second spelling of an id opens; the stored form (ids of
 * challenges issued before sealing) is handed back to the store.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRandomId, type PcrSelection } from '@vigil/protocol';
import { ChallengeSeal, type ChallengeTerms } from '../src/verifier/challenges/sealed-challenge.js';

const BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

const pcrs = fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { maxLength: 24 });
const selection: fc.Arbitrary<PcrSelection> = fc
  .record({ sha1: pcrs, sha256: pcrs, sha384: pcrs, sha512: pcrs }, { requiredKeys: [] })
  .map((s) => s as PcrSelection);
const anchor = fc.option(
  fc.record({ clock: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), resetCount: fc.integer({ min: 0, max: 2 ** 32 - 1 }), restartCount: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
  { nil: null },
);
const deviceId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/);
const terms: fc.Arbitrary<ChallengeTerms> = fc.record({
  deviceId,
  pcrSelection: selection,
  expiresAt: fc.integer({ min: 0, max: 0xffff_ffff_ffff }),
  tpmClockAtIssue: anchor,
});

function sorted(s: PcrSelection): PcrSelection {
  const out: Record<string, number[]> = {};
  for (const b of BANKS) if (s[b] !== undefined) out[b] = [...s[b]!].sort((x, y) => x - y);
  return out as PcrSelection;
}

describe('ChallengeSeal', () => {
  const seal = new ChallengeSeal(randomBytes(32));

  it('opens what it sealed, for the same device, with every term and the nonce as sealed', () => {
    fc.assert(
      fc.property(terms, (t) => {
        const issued = seal.seal(t);
        expect(isRandomId(issued.id)).toBe(true);
        expect(issued.id.length).toBeGreaterThanOrEqual(38);
        expect(issued.id.length).toBeLessThanOrEqual(75);
        expect(issued.nonce).toHaveLength(32);
        const opened = seal.open(issued.id, t.deviceId);
        expect(opened).toEqual({ kind: 'sealed', challenge: issued });
        expect(issued.pcrSelection).toEqual(sorted(t.pcrSelection));
        expect(issued.expiresAt).toBe(t.expiresAt);
        expect(issued.tpmClockAtIssue).toEqual(t.tpmClockAtIssue);
      }),
    );
  });

  it('seals in the documented format, its MACs as node:crypto computes them (replicas of other versions open the same ids)', () => {
    const key = randomBytes(32);
    const t: ChallengeTerms = { deviceId: 'cam-1', pcrSelection: { sha256: [0, 7] }, expiresAt: 1_800_000_000_000, tpmClockAtIssue: null };
    const issued = new ChallengeSeal(key).seal(t);
    const raw = Buffer.from(issued.id, 'base64url');
    // version(1) expiresAt(6) flags(1) random(4) sha256 mask(3) tagIssued(6) tagDevice(10)
    expect(raw).toHaveLength(31);
    const body = raw.subarray(0, 15);
    const signed = raw.subarray(0, 21);
    const tagIssued = createHmac('sha256', key).update(Buffer.of(1)).update(body).digest().subarray(0, 6);
    const nonce = createHmac('sha256', key).update(Buffer.of(2, 5)).update('cam-1').update(signed).digest();
    expect(raw.subarray(15, 21).toString('hex')).toBe(tagIssued.toString('hex'));
    expect(Buffer.from(issued.nonce).toString('hex')).toBe(nonce.toString('hex'));
    expect(raw.subarray(21).toString('hex')).toBe(nonce.subarray(0, 10).toString('hex'));
  });

  it('makes a different id and nonce each time for the same terms', () => {
    const t: ChallengeTerms = { deviceId: 'cam-1', pcrSelection: { sha256: [0, 7] }, expiresAt: 1_800_000_000_000, tpmClockAtIssue: null };
    const a = seal.seal(t);
    const b = seal.seal(t);
    expect(a.id).not.toBe(b.id);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
  });

  it('refuses a challenge sealed for another device as other-device, and one sealed with another key as unknown', () => {
    const other = new ChallengeSeal(randomBytes(32));
    fc.assert(
      fc.property(terms, deviceId, (t, someoneElse) => {
        fc.pre(someoneElse !== t.deviceId);
        const issued = seal.seal(t);
        expect(seal.open(issued.id, someoneElse)).toEqual({ kind: 'other-device' });
        expect(other.open(issued.id, t.deviceId)).toEqual({ kind: 'unknown' });
      }),
    );
  });

  it('refuses an id with any byte changed: never opens as a challenge', () => {
    fc.assert(
      fc.property(terms, fc.nat(), fc.integer({ min: 1, max: 255 }), (t, at, xor) => {
        const issued = seal.seal(t);
        const raw = Buffer.from(issued.id, 'base64url');
        raw[at % raw.length]! ^= xor;
        const opened = seal.open(raw.toString('base64url'), t.deviceId);
        expect(['unknown', 'other-device']).toContain(opened.kind);
      }),
    );
  });

  it('refuses another spelling of the same bytes: a replay cannot pass as a new id', () => {
    // 47 bytes: the last base64url character carries 4 unused bits.
    const issued = seal.seal({ deviceId: 'cam-1', pcrSelection: { sha256: [0, 1, 2] }, expiresAt: 1_800_000_000_000, tpmClockAtIssue: { clock: 5n, resetCount: 1, restartCount: 0 } });
    expect(Buffer.from(issued.id, 'base64url').length % 3).not.toBe(0);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = issued.id.at(-1)!;
    const variants = [...alphabet].map((c) => issued.id.slice(0, -1) + c).filter((id) => id !== issued.id && Buffer.from(id, 'base64url').equals(Buffer.from(issued.id, 'base64url')));
    expect(variants.length).toBeGreaterThan(0);
    for (const id of variants) expect(seal.open(id, 'cam-1')).toEqual({ kind: 'unknown' });
    expect(seal.open(issued.id.slice(0, -1) + last, 'cam-1').kind).toBe('sealed');
  });

  it('hands ids of the stored form (at most 32 characters) back to the store, and calls any other string unknown', () => {
    expect(seal.open('0190d3c4a1b2' + randomBytes(12).toString('base64url'), 'cam-1')).toEqual({ kind: 'stored' });
    expect(seal.open(randomBytes(16).toString('base64url'), 'cam-1')).toEqual({ kind: 'stored' });
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{33,96}$/), (id) => {
        expect(seal.open(id, 'cam-1')).toEqual({ kind: 'unknown' });
      }),
    );
  });

  it('refuses to seal terms it cannot carry', () => {
    const t: ChallengeTerms = { deviceId: 'cam-1', pcrSelection: { sha256: [0] }, expiresAt: 1, tpmClockAtIssue: null };
    expect(() => seal.seal({ ...t, expiresAt: -1 })).toThrow(RangeError);
    expect(() => seal.seal({ ...t, expiresAt: 2 ** 48 })).toThrow(RangeError);
    expect(() => seal.seal({ ...t, pcrSelection: { sha256: [24] } })).toThrow(RangeError);
    expect(() => new ChallengeSeal(randomBytes(16))).toThrow(RangeError);
  });
});
