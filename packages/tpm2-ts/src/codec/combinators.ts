import type { Codec } from './codec.js';
import { TpmMarshalError } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/**
 * TPM2B_* holding plain bytes (Part 2 §10.4): a UINT16 size then that many
 * bytes. `maxSize` is the buffer's declared maximum (e.g. sizeof(TPMU_HA) for
 * TPM2B_DIGEST); larger sizes are rejected both ways.
 */
export function tpm2b(name: string, maxSize: number): Codec<Uint8Array> {
  return {
    name,
    shape: { kind: 'bytes', prefix: 2, minSize: 0, maxSize },
    encode(w: Writer, v: Uint8Array): void {
      if (!(v instanceof Uint8Array)) throw new TpmMarshalError(name, `expected bytes, got ${typeof v}`);
      if (v.length > maxSize) throw new TpmMarshalError(name, `${v.length} bytes exceed the maximum of ${maxSize}`);
      w.u16(v.length);
      w.bytes(v);
    },
    decode(r: Reader): Uint8Array {
      const at = r.offset;
      const size = r.u16();
      if (size > maxSize) r.fail(`size ${size} exceeds the maximum of ${maxSize}`, at);
      return r.bytesOf(size);
    },
  };
}

/**
 * TPM2B_* wrapping a structure (TPM2B_PUBLIC, TPM2B_ATTEST, ...): a UINT16
 * size then the marshalled structure, which must fill the size exactly.
 * Where the spec lets the size be zero (an absent structure, e.g. an empty
 * TPM2B_PUBLIC in some inputs), use `optional: true`: then `null` stands for
 * size zero.
 */
export function sized<T>(name: string, inner: Codec<T>): Codec<T>;
export function sized<T>(name: string, inner: Codec<T>, options: { optional: true }): Codec<T | null>;
export function sized<T>(name: string, inner: Codec<T>, options?: { optional: true }): Codec<T | null> {
  const optional = options?.optional === true;
  return {
    name,
    shape: { kind: 'sized', inner: inner as Codec<unknown>, optional },
    encode(w: Writer, v: T | null): void {
      if (v === null) {
        if (!optional) throw new TpmMarshalError(name, 'value required');
        w.u16(0);
        return;
      }
      const fill = w.sizeSlot(2);
      inner.encode(w, v);
      if (fill() > 0xffff) throw new TpmMarshalError(name, 'structure larger than 65535 bytes');
    },
    decode(r: Reader): T | null {
      const size = r.u16();
      if (size === 0) {
        if (optional) return null;
        r.fail('size 0 where a structure is required', r.offset - 2);
      }
      const sub = r.sub(size);
      const v = sub.within(inner.name, () => inner.decode(sub));
      sub.expectEnd();
      return v;
    },
  };
}

/**
 * TPML_* (Part 2 §10.9): a UINT32 count then that many elements. The count is
 * checked against the list's maximum and against the bytes left (every
 * element takes at least `minElementSize` bytes) before anything is
 * allocated, so a lying count cannot cause a huge allocation or a long loop.
 */
export function list<T>(name: string, element: Codec<T>, maxCount: number, minElementSize = 1): Codec<T[]> {
  return {
    name,
    shape: { kind: 'list', element: element as Codec<unknown>, maxCount },
    encode(w: Writer, v: T[]): void {
      if (!Array.isArray(v)) throw new TpmMarshalError(name, 'expected an array');
      if (v.length > maxCount) throw new TpmMarshalError(name, `${v.length} elements exceed the maximum of ${maxCount}`);
      w.u32(v.length);
      for (const e of v) element.encode(w, e);
    },
    decode(r: Reader): T[] {
      const at = r.offset;
      const count = r.u32();
      if (count > maxCount) r.fail(`count ${count} exceeds the maximum of ${maxCount}`, at);
      if (count * minElementSize > r.remaining) r.fail(`count ${count} cannot fit in ${r.remaining} remaining byte(s)`, at);
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(r.within(`[${i}]`, () => element.decode(r)));
      return out;
    },
  };
}

/** A TPMU_* union: which member is present is chosen by a selector (an algorithm id, a structure tag, a capability). */
export interface UnionCodec<T> {
  readonly name: string;
  readonly members: ReadonlyMap<number, Codec<T>>;
  encodeWith(w: Writer, selector: number, value: T): void;
  decodeWith(r: Reader, selector: number): T;
}

/**
 * Defines a TPMU_* union from its members keyed by selector value, e.g.
 * `union('TPMU_SIGNATURE', { [TPM_ALG.RSASSA]: TPMS_SIGNATURE_RSA, ... })`.
 * A selector with no member is an error in both directions.
 */
export function union<M extends Record<number, Codec<unknown>>>(
  name: string,
  members: M,
): UnionCodec<{ [K in keyof M]: M[K] extends Codec<infer T> ? T : never }[keyof M]> {
  type T = { [K in keyof M]: M[K] extends Codec<infer U> ? U : never }[keyof M];
  const map = new Map<number, Codec<T>>();
  for (const [k, c] of Object.entries(members)) map.set(Number(k), c as Codec<T>);
  return {
    name,
    members: map,
    encodeWith(w: Writer, selector: number, value: T): void {
      const c = map.get(selector);
      if (!c) throw new TpmMarshalError(name, `no member for selector 0x${selector.toString(16)}`);
      c.encode(w, value);
    },
    decodeWith(r: Reader, selector: number): T {
      const c = map.get(selector);
      if (!c) r.fail(`no ${name} member for selector 0x${selector.toString(16)}`);
      return r.within(c.name, () => c.decode(r));
    },
  };
}

/** A struct field holding a union whose selector is an earlier field of the same struct. */
export interface Selected<T> {
  readonly kind: 'selected';
  readonly selector: string;
  readonly union: UnionCodec<T>;
}

/** `parameters: select('type', TPMU_PUBLIC_PARMS)` inside a `struct` definition. */
export function select<T>(selector: string, u: UnionCodec<T>): Selected<T> {
  return { kind: 'selected', selector, union: u };
}

/** What a struct definition maps each field name to. */
export type FieldDef = Codec<unknown> | Selected<unknown>;
export type Fields = Record<string, FieldDef>;

/** The TypeScript shape of a struct defined by `F`. */
export type StructOf<F extends Fields> = {
  [K in keyof F]: F[K] extends Selected<infer U> ? U : F[K] extends Codec<infer T> ? T : never;
};

function isSelected(f: FieldDef): f is Selected<unknown> {
  return (f as Selected<unknown>).kind === 'selected';
}

function selectorOf(name: string, value: Record<string, unknown>, field: string): number {
  const s = value[field];
  if (typeof s !== 'number') throw new TpmMarshalError(name, `selector field '${field}' is not a number`);
  return s;
}

/**
 * A TPMS_ or TPMT_ structure: fields marshalled in declaration order (object
 * key order), each by its own codec. This one function is the whole of the
 * library's structure marshalling.
 */
export function struct<F extends Fields>(name: string, fields: F): Codec<StructOf<F>> & { readonly fields: F } {
  const entries = Object.entries(fields);
  return {
    name,
    fields,
    shape: { kind: 'struct', fields },
    encode(w: Writer, v: StructOf<F>): void {
      if (typeof v !== 'object' || v === null) throw new TpmMarshalError(name, 'expected an object');
      const rec = v as Record<string, unknown>;
      for (const [key, f] of entries) {
        try {
          if (isSelected(f)) f.union.encodeWith(w, selectorOf(name, rec, f.selector), rec[key]);
          else f.encode(w, rec[key]);
        } catch (e) {
          if (e instanceof TpmMarshalError && !e.path.startsWith(`${name}.`)) {
            throw new TpmMarshalError(`${name}.${key}: ${e.path}`, e.reason);
          }
          throw e;
        }
      }
    },
    decode(r: Reader): StructOf<F> {
      const out: Record<string, unknown> = {};
      for (const [key, f] of entries) {
        out[key] = r.within(key, () =>
          isSelected(f) ? f.union.decodeWith(r, out[f.selector] as number) : f.decode(r),
        );
      }
      return out as StructOf<F>;
    },
  };
}

/** One member of a TPMA_* bit field: a single bit (boolean) or a multi-bit number. */
export type BitDef = number | { readonly shift: number; readonly width: number };
export type BitsOf<S extends Record<string, BitDef>> = {
  [K in keyof S]?: S[K] extends number ? boolean : number;
} & {
  /** Bits the definition does not name (reserved in this spec version); kept so values round-trip. */
  reserved?: number;
};

/**
 * A TPMA_* attribute field (Part 2 §8): named bits and bit ranges over a
 * UINT8/UINT16/UINT32. Decoding yields every named member (false/0 when
 * clear); encoding treats absent members as clear.
 */
export function bits<S extends Record<string, BitDef>>(name: string, width: 8 | 16 | 32, spec: S): Codec<BitsOf<S>> & { readonly spec: S } {
  const entries = Object.entries(spec);
  let known = 0;
  for (const [, d] of entries) {
    known |= typeof d === 'number' ? 1 << d : ((1 << d.width) - 1) << d.shift;
  }
  known >>>= 0;
  const full = width === 32 ? 0xffffffff : (1 << width) - 1;
  return {
    name,
    spec,
    shape: { kind: 'bits', width, spec },
    encode(w: Writer, v: BitsOf<S>): void {
      let x = 0;
      const rec = v as Record<string, unknown>;
      for (const [k, d] of entries) {
        const m = rec[k];
        if (typeof d === 'number') {
          if (m) x |= 1 << d;
        } else if (m !== undefined) {
          const n = Number(m);
          if (!Number.isInteger(n) || n < 0 || n >= 1 << d.width) throw new TpmMarshalError(`${name}.${k}`, `out of range: ${String(m)}`);
          x |= n << d.shift;
        }
      }
      const reserved = v.reserved ?? 0;
      if ((reserved & known) !== 0 || reserved < 0 || reserved > full) throw new TpmMarshalError(name, 'reserved bits overlap named bits');
      x = (x | reserved) >>> 0;
      if (width === 8) w.u8(x);
      else if (width === 16) w.u16(x);
      else w.u32(x);
    },
    decode(r: Reader): BitsOf<S> {
      const x = width === 8 ? r.u8() : width === 16 ? r.u16() : r.u32();
      const out: Record<string, boolean | number> = {};
      for (const [k, d] of entries) {
        out[k] = typeof d === 'number' ? (x & (1 << d)) !== 0 : (x >>> d.shift) & ((1 << d.width) - 1);
      }
      out['reserved'] = (x & ~known) >>> 0;
      return out as BitsOf<S>;
    },
  };
}

/**
 * A byte array with a UINT8 length prefix: the `sizeofSelect` + `pcrSelect`
 * pair of TPMS_PCR_SELECTION (Part 2 §10.6.2), where the length is part of the
 * wire format but not a separate value.
 */
export function bytes8(name: string, maxSize: number): Codec<Uint8Array> {
  return {
    name,
    shape: { kind: 'bytes', prefix: 1, minSize: 0, maxSize },
    encode(w: Writer, v: Uint8Array): void {
      if (!(v instanceof Uint8Array)) throw new TpmMarshalError(name, `expected bytes, got ${typeof v}`);
      if (v.length > maxSize) throw new TpmMarshalError(name, `${v.length} bytes exceed the maximum of ${maxSize}`);
      w.u8(v.length);
      w.bytes(v);
    },
    decode(r: Reader): Uint8Array {
      const at = r.offset;
      const size = r.u8();
      if (size > maxSize) r.fail(`size ${size} exceeds the maximum of ${maxSize}`, at);
      return r.bytesOf(size);
    },
  };
}
