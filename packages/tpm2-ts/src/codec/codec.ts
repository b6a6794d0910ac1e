import { TpmMarshalError } from './errors.js';
import { Reader } from './reader.js';
import type { CodecShape } from './shape.js';
import { Writer } from './writer.js';

/**
 * A marshaller/unmarshaller for one TPM 2.0 Part 2 type. Every structure and
 * every command parameter area is a `Codec`, built from the primitives and
 * combinators in this folder; nothing else in the library computes byte
 * offsets.
 *
 * `encode`/`decode` are declared as methods (not function properties) on
 * purpose: TypeScript checks method parameters bivariantly, so a
 * `Codec<TpmsQuoteInfo>` can stand where a `Codec<unknown>` is expected in
 * the generic combinators.
 */
export interface Codec<T> {
  /** The Part 2 type name, e.g. `TPMS_ATTEST`; used in error paths. */
  readonly name: string;
  encode(w: Writer, value: T): void;
  decode(r: Reader): T;
  /** What the codec is built from (see `CodecShape`); set by every primitive and combinator. */
  readonly shape?: CodecShape;
}

/** The TypeScript type a codec produces. */
export type Infer<C> = C extends Codec<infer T> ? T : never;

/** Marshals `value` to bytes. */
export function marshal<T>(codec: Codec<T>, value: T): Uint8Array {
  const w = new Writer();
  codec.encode(w, value);
  return w.finish();
}

/**
 * Unmarshals exactly one `codec` value from `bytes`; trailing bytes are an
 * error. Throws only `TpmUnmarshalError` on bad input.
 */
export function unmarshal<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const r = new Reader(bytes);
  const v = r.within(codec.name, () => codec.decode(r));
  r.expectEnd();
  return v;
}

/** Unmarshals one value from the front of `bytes`; returns it and the bytes consumed. */
export function unmarshalPrefix<T>(codec: Codec<T>, bytes: Uint8Array): { value: T; size: number } {
  const r = new Reader(bytes);
  const value = r.within(codec.name, () => codec.decode(r));
  return { value, size: r.offset };
}

function checkInt(path: string, v: unknown, max: number, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TpmMarshalError(path, `expected an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

function prim<T>(name: string, shape: CodecShape, encode: (w: Writer, v: T) => void, decode: (r: Reader) => T): Codec<T> {
  return { name, shape, encode, decode };
}

// Part 2 §5: base types.
export const UINT8 = prim<number>('UINT8', { kind: 'uint', bits: 8 }, (w, v) => w.u8(checkInt('UINT8', v, 0xff)), (r) => r.u8());
export const UINT16 = prim<number>('UINT16', { kind: 'uint', bits: 16 }, (w, v) => w.u16(checkInt('UINT16', v, 0xffff)), (r) => r.u16());
export const UINT32 = prim<number>('UINT32', { kind: 'uint', bits: 32 }, (w, v) => w.u32(checkInt('UINT32', v, 0xffffffff)), (r) => r.u32());
export const INT32 = prim<number>('INT32', { kind: 'int', bits: 32 }, (w, v) => w.i32(checkInt('INT32', v, 0x7fffffff, -0x80000000)), (r) => r.i32());
export const UINT64 = prim<bigint>(
  'UINT64',
  { kind: 'uint', bits: 64 },
  (w, v) => {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
      throw new TpmMarshalError('UINT64', `expected a bigint in [0, 2^64), got ${String(v)}`);
    }
    w.u64(v);
  },
  (r) => r.u64(),
);

/** TPMI_YES_NO (Part 2 §9.2): one byte, 0 or 1; anything else is rejected. */
export const TPMI_YES_NO = prim<boolean>(
  'TPMI_YES_NO',
  { kind: 'boolean' },
  (w, v) => w.u8(v ? 1 : 0),
  (r) => {
    const v = r.u8();
    if (v > 1) r.fail(`TPMI_YES_NO must be 0 or 1, got ${v}`, r.offset - 1);
    return v === 1;
  },
);

/** A structure with no bytes: the member of a union selected by TPM_ALG_NULL and the like. */
export const EMPTY: Codec<null> = prim<null>(
  'EMPTY',
  { kind: 'empty' },
  () => undefined,
  () => null,
);

/** Exactly `size` bytes, no length prefix (e.g. the digest in TPMT_HA). */
export function fixedBytes(name: string, size: number): Codec<Uint8Array> {
  return prim<Uint8Array>(
    name,
    { kind: 'bytes', prefix: 0, minSize: size, maxSize: size },
    (w, v) => {
      if (!(v instanceof Uint8Array) || v.length !== size) {
        throw new TpmMarshalError(name, `expected ${size} bytes, got ${v instanceof Uint8Array ? v.length : typeof v}`);
      }
      w.bytes(v);
    },
    (r) => r.bytesOf(size),
  );
}

/**
 * A numeric interface type (TPMI_*) whose values are restricted: decoding a
 * value outside `allowed` fails with the type's name, the way the TPM
 * reference implementation's unmarshal functions do.
 */
export function restricted(name: string, base: Codec<number>, allowed: Iterable<number>): Codec<number> {
  const ok = new Set(allowed);
  return prim<number>(
    name,
    { kind: 'restricted', base, allowed: [...ok] },
    (w, v) => {
      if (!ok.has(v)) throw new TpmMarshalError(name, `value 0x${Number(v).toString(16)} is not allowed`);
      base.encode(w, v);
    },
    (r) => {
      const at = r.offset;
      const v = base.decode(r);
      if (!ok.has(v)) r.fail(`value 0x${v.toString(16)} is not a valid ${name}`, at);
      return v;
    },
  );
}
