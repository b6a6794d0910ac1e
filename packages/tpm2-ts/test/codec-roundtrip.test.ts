// Round-trip properties for every exported codec, with values generated from
// the codec's own definition (codec-arbitrary.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Codec, marshal, UINT16, unmarshal } from '../src/codec/codec.js';
import { TPMS_ATTEST, TPMT_PUBLIC, TPM_ALG, TPM_ST } from '../src/index.js';
import { arbitraryFor } from './codec-arbitrary.js';
import { exportedCodecs } from './codec-exports.js';

const codecs = exportedCodecs();

function roundTrip(codec: Codec<unknown>): fc.IPropertyWithHooks<[unknown]> {
  return fc.property(arbitraryFor(codec), (v) => {
    const bytes = marshal(codec, v);
    const back = unmarshal(codec, bytes);
    expect(back).toEqual(v);
    expect(marshal(codec, back)).toEqual(bytes);
  });
}

describe('codec round trip', () => {
  it('finds the exported structures and command areas', () => {
    const names = codecs.map(([n]) => n);
    // A sanity floor so an export refactor cannot silently empty the property tests.
    expect(names).toEqual(expect.arrayContaining(['TPMS_ATTEST', 'TPMT_PUBLIC', 'TPM2B_PUBLIC', 'TPMT_SIGNATURE', 'Quote parameters', 'Quote response']));
    expect(codecs.length).toBeGreaterThan(60);
  });

  it('every exported codec declares its shape (so it gets generated values)', () => {
    expect(codecs.filter(([, c]) => c.shape === undefined).map(([n]) => n)).toEqual([]);
  });

  for (const [name, codec] of codecs) {
    if (!codec.shape) continue;
    it(`${name}: unmarshal(marshal(v)) = v and re-marshalling gives the same bytes`, () => {
      fc.assert(roundTrip(codec), { numRuns: 60 });
    });
  }

  it('the round-trip property catches a codec that loses information', () => {
    // A deliberately wrong codec: writes 16 bits, reads back only the high byte.
    const lossy: Codec<number> = {
      name: 'LOSSY',
      shape: UINT16.shape!,
      encode: (w, v) => UINT16.encode(w, v),
      decode: (r) => r.u8() * 256 + (r.u8() & 0),
    };
    expect(fc.check(roundTrip(lossy as Codec<unknown>), { numRuns: 200 }).failed).toBe(true);
  });

  it('generated values reach every union member (selector coverage)', () => {
    // The generator must not collapse onto one member: over many draws of
    // TPMT_PUBLIC and TPMS_ATTEST, every public type and attestation type shows up.
    const publicTypes = new Set(fc.sample(arbitraryFor(TPMT_PUBLIC), 400).map((p) => p.type));
    expect([...publicTypes].sort()).toEqual([TPM_ALG.RSA, TPM_ALG.KEYEDHASH, TPM_ALG.ECC, TPM_ALG.SYMCIPHER].sort());
    const attestTypes = new Set(fc.sample(arbitraryFor(TPMS_ATTEST), 400).map((a) => a.type));
    expect(attestTypes.has(TPM_ST.ATTEST_QUOTE)).toBe(true);
    expect(attestTypes.size).toBe(8);
  });
});
