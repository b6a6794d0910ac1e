/**
 * One small declarative codec for the little-endian structures of the TCG PC
 * Client event log, UEFI and the IMA binary list. A structure is described
 * once, as an ordered shape of fields, and the same description reads and
 * writes it; TypeScript derives the value type from the shape.
 *
 * Size fields that precede their data (UINT32 EventSize; UINT8 Event[EventSize])
 * are described with `lengthOf` + `sized`: on read the length is checked
 * against the bytes actually left before anything is allocated; on write it is
 * computed from the data, so a value can never disagree with its length.
 */
import type { ByteReader } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';
import { DecodeError } from './errors.js';

export interface Codec<T> {
  readonly kind: 'codec';
  readonly typeName: string;
  /** Smallest possible encoding in bytes; bounds element counts before reading. */
  readonly minSize: number;
  read(r: ByteReader): T;
  write(w: ByteWriter, value: T): void;
}

/** An unsigned little-endian integer that can also serve as a length or count. */
export interface IntCodec<T extends number | bigint> extends Codec<T> {
  readonly byteSize: number;
  /** Reads a count of units of `unitSize` bytes, checked against the bytes left. */
  readCount(r: ByteReader, unitSize: number): number;
  writeCount(w: ByteWriter, count: number): void;
}

/** A body whose extent is given by a separate count: N bytes, N UTF-16 units, N items. */
export interface VarCodec<T> {
  readonly typeName: string;
  /** Minimum bytes per counted unit (at least 1). */
  readonly unitSize: number;
  read(r: ByteReader, count: number): T;
  write(w: ByteWriter, value: T): void;
  count(value: T): number;
}

export interface LengthField {
  readonly kind: 'length';
  readonly int: IntCodec<number> | IntCodec<bigint>;
}

export interface SizedField<T> {
  readonly kind: 'sized';
  readonly lengthField: string;
  readonly body: VarCodec<T>;
}

export type Field = Codec<unknown> | LengthField | SizedField<unknown>;
export type Shape = Readonly<Record<string, Field>>;

type FieldValue<F> = F extends Codec<infer T> ? T : F extends SizedField<infer T> ? T : never;

/** The value type a codec reads and writes. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

/** The value type of a struct: every field but the length fields. */
export type StructValue<S extends Shape> = {
  -readonly [K in keyof S as S[K] extends LengthField ? never : K]: FieldValue<S[K]>;
};

function checkedCount(r: ByteReader, raw: number | bigint, unitSize: number, at: number): number {
  const max = Math.floor(Number.MAX_SAFE_INTEGER / unitSize);
  if (typeof raw === 'bigint' ? raw > BigInt(max) : raw > max) {
    throw new DecodeError(at, `length field ${raw} is too large`);
  }
  const count = Number(raw);
  r.need(count * unitSize);
  return count;
}

function uint<T extends number | bigint>(
  typeName: string,
  byteSize: number,
  read: (r: ByteReader) => T,
  write: (w: ByteWriter, v: T) => void,
  fromCount: (n: number) => T,
  max: T,
): IntCodec<T> {
  return {
    kind: 'codec',
    typeName,
    minSize: byteSize,
    byteSize,
    read,
    write(w, v) {
      if (v < 0 || v > max) throw new RangeError(`${typeName}: ${v} out of range`);
      write(w, v);
    },
    readCount(r, unitSize) {
      const at = r.offset;
      return checkedCount(r, read(r), unitSize, at);
    },
    writeCount(w, n) {
      this.write(w, fromCount(n));
    },
  };
}

export const u8 = uint<number>('UINT8', 1, (r) => r.u8(), (w, v) => w.u8(v), (n) => n, 0xff);
export const u16 = uint<number>('UINT16', 2, (r) => r.u16(), (w, v) => w.u16(v), (n) => n, 0xffff);
export const u32 = uint<number>('UINT32', 4, (r) => r.u32(), (w, v) => w.u32(v), (n) => n, 0xffff_ffff);
export const u64 = uint<bigint>('UINT64', 8, (r) => r.u64(), (w, v) => w.u64(v), (n) => BigInt(n), 0xffff_ffff_ffff_ffffn);

/** Exactly `n` bytes. */
export function fixedBytes(n: number, typeName = `BYTE[${n}]`): Codec<Uint8Array> {
  return {
    kind: 'codec',
    typeName,
    minSize: n,
    read: (r) => r.bytes(n),
    write(w, v) {
      if (v.length !== n) throw new RangeError(`${typeName}: expected ${n} bytes, got ${v.length}`);
      w.bytes(v);
    },
  };
}

/** All bytes left in the enclosing reader. */
export const restBytes: Codec<Uint8Array> = {
  kind: 'codec',
  typeName: 'BYTE[]',
  minSize: 0,
  read: (r) => r.rest(),
  write: (w, v) => void w.bytes(v),
};

/** N bytes. */
export const bytes: VarCodec<Uint8Array> = {
  typeName: 'BYTE[]',
  unitSize: 1,
  read: (r, n) => r.bytes(n),
  write: (w, v) => void w.bytes(v),
  count: (v) => v.length,
};

/**
 * N UTF-16LE code units (UEFI CHAR16). Decoded unit by unit, so any sequence,
 * including unpaired surrogates, round-trips exactly.
 */
export const utf16: VarCodec<string> = {
  typeName: 'CHAR16[]',
  unitSize: 2,
  read(r, n) {
    const raw = r.bytes(n * 2);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(raw[2 * i]! | (raw[2 * i + 1]! << 8));
    return s;
  },
  write(w, v) {
    for (let i = 0; i < v.length; i++) w.u16(v.charCodeAt(i));
  },
  count: (v) => v.length,
};

/** N items of `item`. Items are read one by one, so memory follows the input, not the count. */
export function list<T>(item: Codec<T>): VarCodec<T[]> {
  if (item.minSize < 1) throw new Error(`list of ${item.typeName}: items must take at least one byte`);
  return {
    typeName: `${item.typeName}[]`,
    unitSize: item.minSize,
    read(r, n) {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.read(r));
      return out;
    },
    write(w, v) {
      for (const x of v) item.write(w, x);
    },
    count: (v) => v.length,
  };
}

/** A length field, read before the data it sizes (which names it in `sized`). */
export function lengthOf(int: IntCodec<number> | IntCodec<bigint>): LengthField {
  return { kind: 'length', int };
}

/** Data whose extent is the value of the earlier length field `lengthField`. */
export function sized<T>(lengthField: string, body: VarCodec<T>): SizedField<T> {
  return { kind: 'sized', lengthField, body };
}

/** A length immediately followed by its data. */
export function prefixed<T>(int: IntCodec<number> | IntCodec<bigint>, body: VarCodec<T>): Codec<T> {
  return {
    kind: 'codec',
    typeName: `${body.typeName}<${int.typeName}>`,
    minSize: int.byteSize,
    read: (r) => body.read(r, int.readCount(r, body.unitSize)),
    write(w, v) {
      int.writeCount(w, body.count(v));
      body.write(w, v);
    },
  };
}

/** A structure: fields in order. */
export function struct<S extends Shape>(typeName: string, shape: S): Codec<StructValue<S>> {
  const fields = Object.entries(shape);
  // length field name -> the sized field that uses it
  const sizedBy = new Map<string, { name: string; field: SizedField<unknown> }>();
  const seen = new Set<string>();
  for (const [name, f] of fields) {
    if (f.kind === 'sized') {
      const len = shape[f.lengthField];
      if (!len || len.kind !== 'length' || !seen.has(f.lengthField)) {
        throw new Error(`${typeName}.${name}: '${f.lengthField}' must be an earlier lengthOf field`);
      }
      if (sizedBy.has(f.lengthField)) throw new Error(`${typeName}: '${f.lengthField}' sizes two fields`);
      sizedBy.set(f.lengthField, { name, field: f });
    }
    seen.add(name);
  }
  for (const [name, f] of fields) {
    if (f.kind === 'length' && !sizedBy.has(name)) throw new Error(`${typeName}.${name}: length field sizes nothing`);
  }
  let minSize = 0;
  for (const [, f] of fields) {
    if (f.kind === 'codec') minSize += f.minSize;
    else if (f.kind === 'length') minSize += f.int.byteSize;
  }

  return {
    kind: 'codec',
    typeName,
    minSize,
    read(r) {
      const out: Record<string, unknown> = {};
      const counts = new Map<string, number>();
      for (const [name, f] of fields) {
        if (f.kind === 'codec') out[name] = f.read(r);
        else if (f.kind === 'length') counts.set(name, f.int.readCount(r, sizedBy.get(name)!.field.body.unitSize));
        else {
          // The count was checked against the bytes left when it was read;
          // fields in between may have consumed some, so check again.
          const n = counts.get(f.lengthField)!;
          r.need(n * f.body.unitSize);
          out[name] = f.body.read(r, n);
        }
      }
      return out as StructValue<S>;
    },
    write(w, value) {
      const v = value as Record<string, unknown>;
      for (const [name, f] of fields) {
        if (f.kind === 'codec') f.write(w, v[name]);
        else if (f.kind === 'length') {
          const target = sizedBy.get(name)!;
          f.int.writeCount(w, target.field.body.count(v[target.name]));
        } else f.body.write(w, v[name]);
      }
    },
  };
}

/** Decodes `bytes` as exactly one `codec` value (trailing bytes are an error). */
export function decodeExact<T>(codec: Codec<T>, reader: ByteReader): T {
  const v = codec.read(reader);
  reader.expectEnd(codec.typeName);
  return v;
}
