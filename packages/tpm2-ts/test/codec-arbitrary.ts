// Random values for any codec, derived from its definition (Codec.shape): the
// property tests never hand-write a generator per structure, so a structure
// added to src/structures/ is covered the moment it is exported.
import fc from 'fast-check';
import type { Codec } from '../src/codec/codec.js';
import type { BitDef, FieldDef, Selected } from '../src/codec/combinators.js';
import type { CodecShape } from '../src/codec/shape.js';

export class NoShapeError extends Error {
  constructor(readonly codecName: string) {
    super(`codec ${codecName} declares no shape`);
  }
}

/** Upper bound on generated list lengths: the structures' maxima (up to 256) only slow the tests down. */
const MAX_LIST = 5;

const cache = new WeakMap<Codec<unknown>, fc.Arbitrary<unknown>>();

export function arbitraryFor<T>(codec: Codec<T>): fc.Arbitrary<T> {
  const c = codec as Codec<unknown>;
  let arb = cache.get(c);
  if (!arb) {
    if (!c.shape) throw new NoShapeError(c.name);
    arb = fromShape(c.shape);
    cache.set(c, arb);
  }
  return arb as fc.Arbitrary<T>;
}

function fromShape(s: CodecShape): fc.Arbitrary<unknown> {
  switch (s.kind) {
    case 'uint':
      return s.bits === 64 ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) : fc.integer({ min: 0, max: 2 ** s.bits - 1 });
    case 'int':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'boolean':
      return fc.boolean();
    case 'empty':
      return fc.constant(null);
    case 'bytes':
      return fc.uint8Array({ minLength: s.minSize, maxLength: s.maxSize });
    case 'restricted':
      return fc.constantFrom(...s.allowed);
    case 'sized': {
      const inner = arbitraryFor(s.inner);
      return s.optional ? fc.option(inner, { nil: null }) : inner;
    }
    case 'list':
      return fc.array(arbitraryFor(s.element), { maxLength: Math.min(s.maxCount, MAX_LIST) });
    case 'bits':
      return bitsArbitrary(s.width, s.spec);
    case 'struct':
      return structArbitrary(s.fields);
  }
}

function bitsArbitrary(width: 8 | 16 | 32, spec: Readonly<Record<string, BitDef>>): fc.Arbitrary<unknown> {
  let known = 0;
  const members: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, d] of Object.entries(spec)) {
    if (typeof d === 'number') {
      known |= 1 << d;
      members[k] = fc.boolean();
    } else {
      known |= ((2 ** d.width - 1) << d.shift) >>> 0;
      members[k] = fc.integer({ min: 0, max: 2 ** d.width - 1 });
    }
  }
  const unknown = ~known >>> 0 & (2 ** width - 1);
  // Reserved bits: any subset of the bits the definition does not name.
  members['reserved'] = fc.integer({ min: 0, max: 2 ** width - 1 }).map((x) => (x & unknown) >>> 0);
  return fc.record(members);
}

function isSelected(f: FieldDef): f is Selected<unknown> {
  return (f as Selected<unknown>).kind === 'selected';
}

/**
 * A struct's selector fields (those a `select(...)` field names) take only
 * values that every union they select has a member for; the selected fields
 * are then generated from that member.
 */
function structArbitrary(fields: Readonly<Record<string, FieldDef>>): fc.Arbitrary<unknown> {
  const choices = new Map<string, number[]>();
  for (const f of Object.values(fields)) {
    if (!isSelected(f)) continue;
    const keys = [...f.union.members.keys()];
    const prev = choices.get(f.selector);
    choices.set(f.selector, prev ? prev.filter((k) => keys.includes(k)) : keys);
  }
  if (choices.size === 0) {
    return fc.record(Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, arbitraryFor(f as Codec<unknown>)])));
  }
  const selectorArb = fc.record(Object.fromEntries([...choices].map(([k, vs]) => [k, fc.constantFrom(...vs)])));
  return selectorArb.chain((chosen) =>
    fc.record(
      Object.fromEntries(
        Object.entries(fields).map(([k, f]) => {
          if (k in chosen) return [k, fc.constant(chosen[k])];
          if (isSelected(f)) {
            const member = f.union.members.get(chosen[f.selector] as number);
            if (!member) throw new Error(`union ${f.union.name} has no member for the chosen selector`);
            return [k, arbitraryFor(member)];
          }
          return [k, arbitraryFor(f)];
        }),
      ),
    ),
  );
}
