// PCR selections and the tpm2-tools PCR file, pure logic (the byte-for-byte
// comparison with tpm2_pcrread is in test/interop-checkquote.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unmarshal, marshal } from '../src/codec/codec.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { decodeTpm2ToolsPcrFile, encodeTpm2ToolsPcrFile, PcrFileError } from '../src/pcrs/tpm2-tools-file.js';
import {
  formatPcrSelection,
  fromTpmlPcrSelection,
  parsePcrSelection,
  type PcrSelection,
  PcrSelectionError,
  toTpmlPcrSelection,
  valuesInSelectionOrder,
} from '../src/pcrs/selection.js';
import { TPML_PCR_SELECTION } from '../src/structures/basic.js';

const BANKS = [
  { alg: TPM_ALG.SHA1, size: 20 },
  { alg: TPM_ALG.SHA256, size: 32 },
  { alg: TPM_ALG.SHA384, size: 48 },
  { alg: TPM_ALG.SHA512, size: 64 },
];

/** A selection of distinct banks with sorted, distinct PCR indices 0..23, and values for each. */
const selectionWithValues = fc
  .subarray(BANKS, { minLength: 1 })
  .chain((banks) =>
    fc.tuple(
      ...banks.map((b) =>
        fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 }).chain((pcrs) =>
          fc.tuple(fc.constant(b), fc.constant([...pcrs].sort((x, y) => x - y)), fc.array(fc.uint8Array({ minLength: b.size, maxLength: b.size }), { minLength: pcrs.length, maxLength: pcrs.length })),
        ),
      ),
    ),
  )
  .map((entries) => {
    const selection: PcrSelection[] = entries.map(([b, pcrs]) => ({ hashAlg: b.alg, pcrs }));
    const values = new Map(entries.map(([b, pcrs, vs]) => [b.alg, new Map(pcrs.map((p, i) => [p, vs[i]!]))]));
    return { selection, values };
  });

describe('PCR selections', () => {
  it('parses and formats the tpm2-tools syntax', () => {
    const s = parsePcrSelection('sha1:0,3+sha256:7,0,1,1');
    expect(s).toEqual([
      { hashAlg: TPM_ALG.SHA1, pcrs: [0, 3] },
      { hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 7] },
    ]);
    expect(formatPcrSelection(s)).toBe('sha1:0,3+sha256:0,1,7');
    expect(parsePcrSelection('0xb:2')).toEqual([{ hashAlg: TPM_ALG.SHA256, pcrs: [2] }]);
  });

  it.each(['', 'sha256', 'sha256:', 'md5:0', 'sha256:32', 'sha256:0+sha256:1', 'sha256:a'])('rejects %j', (text) => {
    expect(() => parsePcrSelection(text)).toThrow(PcrSelectionError);
  });

  it('TPML_PCR_SELECTION round trip, 3-byte bitmaps by default (PCR_SELECT_MIN)', () => {
    fc.assert(
      fc.property(selectionWithValues, ({ selection }) => {
        const tpml = toTpmlPcrSelection(selection);
        for (const s of tpml) expect(s.pcrSelect.length).toBe(3);
        expect(fromTpmlPcrSelection(unmarshal(TPML_PCR_SELECTION, marshal(TPML_PCR_SELECTION, tpml)))).toEqual(selection);
      }),
    );
    expect(toTpmlPcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 9] }])[0]!.pcrSelect).toEqual(Uint8Array.of(1, 2, 0));
  });

  it('orders values by bank as listed, then PCR index', () => {
    const values = new Map([
      [TPM_ALG.SHA256, new Map([[7, Uint8Array.of(7)], [0, Uint8Array.of(0)]])],
      [TPM_ALG.SHA1, new Map([[3, Uint8Array.of(3)]])],
    ]);
    const order = valuesInSelectionOrder(parsePcrSelection('sha256:7,0+sha1:3'), values).map((v) => v[0]);
    expect(order).toEqual([0, 7, 3]);
    expect(() => valuesInSelectionOrder(parsePcrSelection('sha256:1'), values)).toThrow(/no value for sha256:1/);
  });
});

describe('tpm2-tools PCR file', () => {
  it('round-trips any selection and values', () => {
    fc.assert(
      fc.property(selectionWithValues, ({ selection, values }) => {
        const bytes = encodeTpm2ToolsPcrFile(selection, values);
        const digests = selection.reduce((n, s) => n + s.pcrs.length, 0);
        expect(bytes.length).toBe(132 + 4 + Math.ceil(digests / 8) * 532);
        const back = decodeTpm2ToolsPcrFile(bytes);
        expect(back.selection).toEqual(selection);
        expect(back.values).toEqual(values);
      }),
    );
  });

  it('fuzz: truncated or random files fail with PcrFileError only', () => {
    const valid = encodeTpm2ToolsPcrFile(parsePcrSelection('sha256:0,1'), new Map([[TPM_ALG.SHA256, new Map([[0, new Uint8Array(32)], [1, new Uint8Array(32)]])]]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: valid.length - 1 }).map((n) => valid.subarray(0, n))), (bytes) => {
        try {
          decodeTpm2ToolsPcrFile(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(PcrFileError);
        }
      }),
    );
  });

  it('rejects a digest count that does not match the selection', () => {
    const bytes = encodeTpm2ToolsPcrFile(parsePcrSelection('sha256:0'), new Map([[TPM_ALG.SHA256, new Map([[0, new Uint8Array(32)]])]]));
    const b = Buffer.from(bytes);
    b.writeUInt8(3, 4 + 3); // select PCRs 0 and 1, one digest present
    expect(() => decodeTpm2ToolsPcrFile(new Uint8Array(b))).toThrow(/fewer digests/);
  });
});
