import type { Codec } from './codec.js';
import type { BitDef, Fields } from './combinators.js';

/**
 * What a codec is built from, as data: the introspection hook that lets tools
 * walk a definition without running it (the property tests derive random
 * values for every exported structure from this; documentation could too).
 * Every primitive and combinator in this folder sets `Codec.shape`; a
 * hand-written codec may leave it out.
 */
export type CodecShape =
  | { readonly kind: 'uint'; readonly bits: 8 | 16 | 32 | 64 }
  | { readonly kind: 'int'; readonly bits: 32 }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'empty' }
  /** Raw bytes: fixed-size (`minSize === maxSize`) or length-prefixed (`prefix` bytes). */
  | { readonly kind: 'bytes'; readonly prefix: 0 | 1 | 2; readonly minSize: number; readonly maxSize: number }
  | { readonly kind: 'restricted'; readonly base: Codec<number>; readonly allowed: readonly number[] }
  | { readonly kind: 'sized'; readonly inner: Codec<unknown>; readonly optional: boolean }
  | { readonly kind: 'list'; readonly element: Codec<unknown>; readonly maxCount: number }
  | { readonly kind: 'struct'; readonly fields: Fields }
  | { readonly kind: 'bits'; readonly width: 8 | 16 | 32; readonly spec: Readonly<Record<string, BitDef>> };
