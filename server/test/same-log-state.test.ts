/**
 * Whether a verdict's log state differs from the one held (server/src/verifier/state/same-log-state.ts):
 * the verifier writes the log state only when it does, so "same" must never be said of two whose
 * stored JSON differs (a bank with no values object stores as absent); and two built alike are the same.
 * Checked against references made of text with sorted keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PcrValues } from '@vigil/protocol';
import { sameLogState, samePcrs } from '../src/verifier/state/same-log-state.js';
import type { NewDeviceLogState } from '../src/store/index.js';

/** Text with sorted keys; `stored` drops what JSON drops (undefined values), else they are kept. */
function canonical(v: unknown, stored = false): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => !stored || o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k], stored)}`)
    .join(',')}}`;
}

/** What the verifier must get right: "same" only for the same stored JSON, and always for the same build. */
function agrees(same: boolean, a: unknown, b: unknown): void {
  if (same) expect(canonical(a, true)).toBe(canonical(b, true));
  if (canonical(a) === canonical(b)) expect(same).toBe(true);
}

const hex = fc.constantFrom('00'.repeat(32), 'ab'.repeat(32), 'cd'.repeat(32));
const bank = fc.dictionary(fc.constantFrom('0', '7', '10', '14'), hex, { maxKeys: 4 });
// Banks may be absent, present, or present with no values object (as a state built in code may have them).
const pcrs = fc
  .record({ sha1: fc.option(bank, { nil: undefined }), sha256: fc.option(bank, { nil: undefined }) }, { requiredKeys: [] })
  .map((p) => p as PcrValues);

function state(ima: PcrValues, model: PcrValues, verified: PcrValues | null): NewDeviceLogState {
  return { deviceId: 'cam-1', resetCount: 3, bootLogDigest: null, ima: { entries: 10, pcrs: ima }, model: { entries: 2, pcrs: model, measurements: [] }, verifiedPcrs: verified };
}

describe('samePcrs', () => {
  it('says same for the same values and never for different stored values, bank by bank and PCR by PCR', () => {
    fc.assert(
      fc.property(pcrs, pcrs, (a, b) => {
        agrees(samePcrs(a, b), a, b);
        expect(samePcrs(a, structuredClone(a))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('compares every bank: one with no values on both sides does not end the comparison', () => {
    const a = { sha1: undefined, sha256: { '10': 'ab'.repeat(32) } } as unknown as PcrValues;
    const b = { sha1: undefined, sha256: { '10': 'cd'.repeat(32) } } as unknown as PcrValues;
    expect(samePcrs(a, b)).toBe(false);
    expect(samePcrs(a, { ...a })).toBe(true);
  });
});

describe('sameLogState', () => {
  it('tells a change of any PCR set, or of the verified PCRs being there, from none', () => {
    fc.assert(
      fc.property(pcrs, pcrs, fc.option(pcrs, { nil: null }), pcrs, pcrs, fc.option(pcrs, { nil: null }), (i1, m1, v1, i2, m2, v2) => {
        const a = state(i1, m1, v1);
        const b = state(i2, m2, v2);
        agrees(sameLogState(a, b), a, b);
        expect(sameLogState(a, structuredClone(a))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
