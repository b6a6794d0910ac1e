/** The declarative codec: lengths are computed on write and checked against the input on read. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../src/binary/byte-reader.js';
import { ByteWriter } from '../src/binary/byte-writer.js';
import { bytes, lengthOf, list, sized, struct, u16, u32, u64, utf16 } from '../src/binary/codec.js';
import { DecodeError, ShortReadError } from '../src/binary/errors.js';
import { guid } from '../src/binary/guid.js';

const Item = struct('ITEM', { tag: u16, value: u32 });
const Sample = struct('SAMPLE', {
  id: guid,
  nameLength: lengthOf(u64),
  itemCount: lengthOf(u32),
  name: sized('nameLength', utf16),
  items: sized('itemCount', list(Item)),
  payloadSize: lengthOf(u32),
  payload: sized('payloadSize', bytes),
});

const sample = fc.record({
  id: fc.uuid().map((u) => u.toLowerCase()),
  name: fc.string({ unit: 'binary', maxLength: 20 }),
  items: fc.array(fc.record({ tag: fc.integer({ min: 0, max: 0xffff }), value: fc.nat() }), { maxLength: 5 }),
  payload: fc.uint8Array({ maxLength: 40 }),
});

function encode(v: Parameters<typeof Sample.write>[1]): Uint8Array {
  const w = new ByteWriter(1);
  Sample.write(w, v);
  return w.finish();
}

describe('codec', () => {
  it('round-trips any value, lone surrogates in CHAR16 strings included', () => {
    fc.assert(
      fc.property(sample, (v) => {
        const r = new ByteReader(encode(v));
        expect(Sample.read(r)).toEqual(v);
        expect(r.remaining).toBe(0);
      }),
    );
  });

  it('writes lengths computed from the data', () => {
    const b = Buffer.from(encode({ id: '8be4df61-93ca-11d2-aa0d-00e098032b8c', name: 'PK', items: [], payload: Uint8Array.of(9) }));
    expect(b.subarray(0, 16).toString('hex')).toBe('61dfe48bca93d211aa0d00e098032b8c');
    expect(b.readBigUInt64LE(16)).toBe(2n);
    expect(b.readUInt32LE(24)).toBe(0);
  });

  it('checks a length against the bytes left before reading anything it sizes', () => {
    const b = Buffer.from(encode({ id: '8be4df61-93ca-11d2-aa0d-00e098032b8c', name: 'x', items: [], payload: new Uint8Array(0) }));
    b.writeBigUInt64LE(0xffff_ffff_ffff_fff0n, 16);
    expect(() => Sample.read(new ByteReader(b))).toThrow(DecodeError);
    b.writeBigUInt64LE(1000n, 16);
    const err = (() => {
      try {
        Sample.read(new ByteReader(b, 100));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ShortReadError);
    expect((err as ShortReadError).offset).toBe(100 + 24); // right after the length field
    expect((err as ShortReadError).needed).toBe(24 + 2000);
  });

  it('raises only DecodeError on any truncation', () => {
    fc.assert(
      fc.property(sample, fc.nat(), (v, n) => {
        const b = encode(v);
        const cut = b.subarray(0, n % b.length);
        expect(() => Sample.read(new ByteReader(cut))).toThrow(DecodeError);
      }),
    );
  });
});
