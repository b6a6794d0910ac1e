/**
 * The floor benchmark's wire (bench/src/floor), pure: the length-prefixed
 * framing however the socket cuts it, the frame bodies through the codec,
 * and the quote — checked against the full TPMS_ATTEST definition of
 * @vigil/tpm2-ts, which the floor's own code never uses whole. Hostile
 * input must end in a `FloorWireError` (or null, for the quote), never in
 * another exception, an allocation from a size field, or a read past the
 * bytes given.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, TPM_GENERATED_VALUE, TPM_ST, TPMS_ATTEST, unmarshal, type Codec } from '@vigil/tpm2-ts';
import { FloorWireError } from '../bench/src/floor/errors.js';
import { FRAME_HEADER_BYTES, FrameParser } from '../bench/src/floor/frame-parser.js';
import { decodeFrame, encodeFrame, FLOOR_CHALLENGE, FLOOR_EVIDENCE, FLOOR_RESULT, FrameKind } from '../bench/src/floor/frames.js';
import { FloorQuoter, QUOTED_PCRS, quoteNonce } from '../bench/src/floor/quote.js';
import { WIRE_SIZES } from '../bench/src/floor/wire-sizes.js';
import { chunksAt } from './harness/chunks.js';

/** A frame by hand: 4-byte big-endian length, body. */
function frame(body: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

function parse(chunks: readonly Buffer[], max = 1 << 20): Buffer[] {
  const out: Buffer[] = [];
  const parser = new FrameParser(max, (body) => out.push(Buffer.from(body)));
  for (const c of chunks) parser.feed(c);
  expect(parser.partial).toBe(false);
  return out;
}

function captured(f: () => void): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return expect.unreachable('expected an error');
}

const bodyArb = fc.uint8Array({ minLength: 1, maxLength: 2000 });

describe('floor frame parser', () => {
  it('gives back every body of a stream however it is chunked, a byte at a time included (property)', () => {
    fc.assert(
      fc.property(fc.array(bodyArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map(frame));
        const want = bodies.map((b) => Buffer.from(b));
        expect(parse(chunksAt(stream, cuts))).toEqual(want);
      }),
    );
    const stream = Buffer.concat([frame(Buffer.from([1])), frame(Buffer.alloc(300, 7)), frame(Buffer.from([2, 3]))]);
    expect(parse([...stream].map((b) => Buffer.from([b])))).toEqual([Buffer.from([1]), Buffer.alloc(300, 7), Buffer.from([2, 3])]);
  });

  it('reads only the first `end` bytes of a shared read buffer', () => {
    const shared = Buffer.alloc(64, 0xee);
    const bytes = frame(Buffer.from([4, 5, 6]));
    bytes.copy(shared);
    const out: Buffer[] = [];
    const parser = new FrameParser(100, (b) => out.push(Buffer.from(b)));
    parser.feed(shared, bytes.length);
    expect(out).toEqual([Buffer.from([4, 5, 6])]);
    expect(parser.partial).toBe(false);
  });

  it('refuses a length over its bound as soon as the length is read, and for good', () => {
    const parser = new FrameParser(1 << 16, () => expect.unreachable('no frame'));
    // 4 GiB - 1 claimed, no body sent: the error comes from the header alone.
    const error = captured(() => parser.feed(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    expect(error).toBeInstanceOf(FloorWireError);
    expect((error as FloorWireError).code).toBe('too-large');
    expect(captured(() => parser.feed(frame(Buffer.from([1]))))).toBe(error);
    // The bound itself is accepted, one byte more is not.
    expect(parse([frame(Buffer.alloc(100, 1))], 100)).toHaveLength(1);
    expect((captured(() => new FrameParser(99, () => undefined).feed(frame(Buffer.alloc(100, 1)))) as FloorWireError).code).toBe('too-large');
  });

  it('refuses an empty frame', () => {
    const error = captured(() => new FrameParser(100, () => undefined).feed(Buffer.from([0, 0, 0, 0])));
    expect((error as FloorWireError).code).toBe('empty');
  });

  it('holds a split length prefix without emitting anything', () => {
    const out: Buffer[] = [];
    const parser = new FrameParser(100, (b) => out.push(Buffer.from(b)));
    parser.feed(Buffer.from([0, 0]));
    expect(parser.partial).toBe(true);
    parser.feed(Buffer.from([0, 2, 9]));
    expect(out).toEqual([]);
    parser.feed(Buffer.from([8]));
    expect(out).toEqual([Buffer.from([9, 8])]);
  });
});

describe('floor frames', () => {
  it('are exactly the real message sizes and decode back to what was encoded', () => {
    const nonce = randomBytes(32);
    const challenge = encodeFrame(FLOOR_CHALLENGE, { kind: FrameKind.challenge, nonce }, WIRE_SIZES.challenge);
    expect(challenge.length).toBe(WIRE_SIZES.challenge);
    expect(challenge.readUInt32BE(0)).toBe(WIRE_SIZES.challenge - FRAME_HEADER_BYTES);
    const [body] = parse([challenge]);
    expect(Buffer.from(decodeFrame(FLOOR_CHALLENGE, body!).nonce)).toEqual(nonce);

    const attest = randomBytes(145);
    const signature = randomBytes(64);
    const evidence = encodeFrame(FLOOR_EVIDENCE, { kind: FrameKind.evidence, attest, signature }, WIRE_SIZES.evidence);
    expect(evidence.length).toBe(WIRE_SIZES.evidence);
    const decoded = decodeFrame(FLOOR_EVIDENCE, parse([evidence])[0]!);
    expect(Buffer.from(decoded.attest)).toEqual(attest);
    expect(Buffer.from(decoded.signature)).toEqual(signature);
  });

  it('refuse to encode a body larger than its frame', () => {
    expect(() => encodeFrame(FLOOR_EVIDENCE, { kind: FrameKind.evidence, attest: new Uint8Array(200), signature: new Uint8Array(64) }, 100)).toThrow(RangeError);
  });

  it('turn any bad body into FloorWireError(malformed), never another error (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const codec of [FLOOR_EVIDENCE, FLOOR_CHALLENGE, FLOOR_RESULT] as ReadonlyArray<Codec<unknown>>) {
          try {
            decodeFrame(codec, bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(FloorWireError);
            expect((err as FloorWireError).code).toBe('malformed');
          }
        }
      }),
    );
  });

  it('refuse a size field that points past the body', () => {
    // kind, then an attest of 0xffff bytes claimed in a 10-byte body.
    const error = captured(() => decodeFrame(FLOOR_EVIDENCE, Buffer.from([FrameKind.evidence, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7])));
    expect((error as FloorWireError).code).toBe('malformed');
  });
});

describe('floor quote', () => {
  // Through tpm2-ts: a key straight from node's key generation is not safe to export in Node 20 (key-pair.ts).
  const { publicKey } = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
  const quoter = new FloorQuoter(publicKey);

  it('is a TPMS_ATTEST of a quote that the full codec reads: 145 bytes, the nonce as extraData, the real selection', () => {
    const nonce = randomBytes(32);
    const attest = quoter.quote(nonce);
    expect(attest.length).toBe(145);
    const parsed = unmarshal(TPMS_ATTEST, attest);
    expect(parsed.magic).toBe(TPM_GENERATED_VALUE);
    expect(parsed.type).toBe(TPM_ST.ATTEST_QUOTE);
    expect(Buffer.from(parsed.extraData)).toEqual(nonce);
    expect(parsed.qualifiedSigner.length).toBe(34);
    // The selection the real challenges ask for: SHA-256 bank, bitmap of PCRs 0-9, 13, 14.
    const attested = parsed.attested as { pcrSelect: Array<{ hash: number; pcrSelect: Uint8Array }> };
    expect(attested.pcrSelect).toHaveLength(1);
    const bitmap = attested.pcrSelect[0]!.pcrSelect;
    const selected = [...Array(bitmap.length * 8).keys()].filter((p) => (bitmap[p >> 3]! & (1 << (p & 7))) !== 0);
    expect(selected).toEqual(QUOTED_PCRS);
  });

  it('gives quoteNonce back the nonce, and a clock that never goes backwards', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const qa = quoter.quote(a);
    const qb = quoter.quote(b);
    expect(Buffer.from(quoteNonce(qa)!)).toEqual(a);
    expect(Buffer.from(quoteNonce(qb)!)).toEqual(b);
    const ca = unmarshal(TPMS_ATTEST, qa).clockInfo.clock;
    const cb = unmarshal(TPMS_ATTEST, qb).clockInfo.clock;
    expect(cb >= ca).toBe(true);
  });

  it('makes quoteNonce say null for anything that is not a quote, and never throw (property)', () => {
    const good = quoter.quote(randomBytes(32));
    const notQuote = Buffer.from(good);
    notQuote.writeUInt16BE(TPM_ST.ATTEST_CERTIFY, 4);
    expect(quoteNonce(notQuote)).toBeNull();
    const badMagic = Buffer.from(good);
    badMagic[0] = 0;
    expect(quoteNonce(badMagic)).toBeNull();
    expect(quoteNonce(good.subarray(0, 40))).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(144), (bytes, cut) => {
        expect(quoteNonce(bytes)).toBeNull(); // random bytes never carry the magic and type both
        const truncated = good.subarray(0, cut);
        const nonce = quoteNonce(truncated);
        // A quote cut inside its head or fresh run is refused; cut later, the nonce is still whole.
        if (nonce !== null) expect(Buffer.from(nonce)).toEqual(Buffer.from(quoteNonce(good)!));
      }),
    );
  });
});
