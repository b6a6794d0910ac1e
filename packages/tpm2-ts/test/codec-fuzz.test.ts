// Adversarial unmarshalling: random, truncated, bit-flipped, extended and
// misaligned inputs for every exported codec. The only error allowed is
// TpmUnmarshalError; anything that does decode must re-marshal to exactly the
// input (the encoding is canonical, so no two byte strings mean the same value).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Codec, marshal, unmarshal } from '../src/codec/codec.js';
import { TpmUnmarshalError } from '../src/codec/errors.js';
import { TPM2B_DIGEST, TPM2B_PUBLIC, TPML_DIGEST, TPML_PCR_SELECTION, TPMS_ATTEST } from '../src/index.js';
import { arbitraryFor } from './codec-arbitrary.js';
import { exportedCodecs } from './codec-exports.js';

const codecs = exportedCodecs().filter(([, c]) => c.shape !== undefined);

type Outcome = { ok: true; value: unknown } | { ok: false; error: TpmUnmarshalError };

/** Decodes, failing the test on any error other than TpmUnmarshalError. */
function decode(codec: Codec<unknown>, bytes: Uint8Array): Outcome {
  try {
    return { ok: true, value: unmarshal(codec, bytes) };
  } catch (e) {
    if (e instanceof TpmUnmarshalError) return { ok: false, error: e };
    throw new Error(`${codec.name}: unmarshal threw ${String(e)} instead of TpmUnmarshalError`, { cause: e });
  }
}

/** Anything that decodes re-marshals to the very same bytes. */
function expectCanonical(codec: Codec<unknown>, bytes: Uint8Array): void {
  const r = decode(codec, bytes);
  if (r.ok) expect(marshal(codec, r.value)).toEqual(bytes);
  else expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
}

/**
 * A valid encoding plus a position inside it. Some codecs always encode to
 * nothing (EMPTY, commands without parameters): no filter here, since a
 * filter that can never pass would make fast-check search forever; the
 * properties skip empty encodings instead.
 */
function encodingWithIndex(codec: Codec<unknown>): fc.Arbitrary<{ bytes: Uint8Array; at: number }> {
  return arbitraryFor(codec)
    .map((v) => marshal(codec, v))
    .chain((bytes) => fc.record({ bytes: fc.constant(bytes), at: fc.nat({ max: Math.max(0, bytes.length - 1) }) }));
}

describe('codec fuzzing', () => {
  for (const [name, codec] of codecs) {
    describe(name, () => {
      it('random bytes: typed error or a canonical value', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => expectCanonical(codec, bytes)),
          { numRuns: 150 },
        );
      });

      it('every strict prefix of a valid encoding is rejected', () => {
        fc.assert(
          fc.property(encodingWithIndex(codec), ({ bytes, at }) => {
            if (bytes.length === 0) return;
            const r = decode(codec, bytes.subarray(0, at));
            expect(r.ok).toBe(false);
          }),
          { numRuns: 60 },
        );
      });

      it('a flipped bit: typed error or a canonical value', () => {
        fc.assert(
          fc.property(encodingWithIndex(codec), fc.integer({ min: 0, max: 7 }), ({ bytes, at }, bit) => {
            if (bytes.length === 0) return;
            const mutated = bytes.slice();
            mutated[at]! ^= 1 << bit;
            expectCanonical(codec, mutated);
          }),
          { numRuns: 60 },
        );
      });

      it('trailing bytes are rejected', () => {
        fc.assert(
          fc.property(arbitraryFor(codec), fc.uint8Array({ minLength: 1, maxLength: 8 }), (v, extra) => {
            const bytes = marshal(codec, v);
            const r = decode(codec, Uint8Array.from([...bytes, ...extra]));
            expect(r.ok).toBe(false);
          }),
          { numRuns: 40 },
        );
      });

      it('decoding does not depend on where the bytes sit in their buffer', () => {
        fc.assert(
          fc.property(arbitraryFor(codec), fc.nat({ max: 7 }), (v, pad) => {
            const bytes = marshal(codec, v);
            const host = new Uint8Array(bytes.length + pad + 3).fill(0xa5);
            host.set(bytes, pad);
            const view = host.subarray(pad, pad + bytes.length);
            expect(unmarshal(codec, view)).toEqual(unmarshal(codec, bytes));
          }),
          { numRuns: 20 },
        );
      });
    });
  }

  it('decoded bytes are fresh copies, never views of the input (also for Buffer input)', () => {
    const input = Buffer.from([0x00, 0x03, 0xaa, 0xbb, 0xcc]);
    const digest = unmarshal(TPM2B_DIGEST, input);
    expect(Object.getPrototypeOf(digest)).toBe(Uint8Array.prototype);
    input[2] = 0x00;
    expect([...digest]).toEqual([0xaa, 0xbb, 0xcc]);
  });

  describe('lying size fields fail fast with the field named', () => {
    it('TPML count far beyond the bytes present', () => {
      const bytes = Uint8Array.of(0x00, 0x00, 0x00, 0x08, 0x00, 0x00);
      const r = decode(TPML_DIGEST, bytes);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toMatch(/cannot fit/);
    });

    it('TPML count above the list maximum, before any allocation', () => {
      const r = decode(TPML_PCR_SELECTION, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toMatch(/exceeds the maximum/);
    });

    it('TPM2B size of 65535 with 3 bytes present', () => {
      const r = decode(TPM2B_PUBLIC, Uint8Array.of(0xff, 0xff, 0x00, 0x01, 0x00));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.path).toContain('TPM2B_PUBLIC');
    });

    it('nested size inside TPMS_ATTEST names the nested field', () => {
      // magic, type=quote, qualifiedSigner with size 0x4000 (above TPM2B_NAME's 66)
      const r = decode(TPMS_ATTEST, Uint8Array.of(0xff, 0x54, 0x43, 0x47, 0x80, 0x18, 0x40, 0x00));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.path).toContain('qualifiedSigner');
        expect(r.error.offset).toBe(6);
      }
    });
  });
});
