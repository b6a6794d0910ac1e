import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Value } from 'typebox/value';
import type { Operation } from './operation.js';

/** One thing wrong with an input, named by its property (`''` for the whole object). */
export interface InputProblem {
  readonly property: string;
  readonly message: string;
}

export type DecodedInput = { readonly ok: true; readonly value: Record<string, unknown> } | { readonly ok: false; readonly problems: readonly InputProblem[] };

const validators = new WeakMap<TSchema, Validator>();

/** Compiled once per schema, on first use (compiling every schema at start-up would slow every CLI command). */
export function validatorFor(schema: TSchema): Validator {
  let v = validators.get(schema);
  if (v === undefined) {
    v = Compile(schema);
    validators.set(schema, v);
  }
  return v;
}

/**
 * Validates an operation's input: defaults from the schema applied, and,
 * when the values arrived as text (query string, path, command line),
 * converted to the schema's types first ("5" → 5, "true" → true). The raw
 * object is not modified. Unknown properties are refused, never ignored.
 */
export function decodeInput(op: Operation, raw: Readonly<Record<string, unknown>>, options: { readonly fromText: boolean }): DecodedInput {
  return decodeObject(op.input, raw, options);
}

/** `decodeInput` against any object schema (the admin API validates each part of a request with it). */
export function decodeObject(schema: TSchema, raw: Readonly<Record<string, unknown>>, options: { readonly fromText: boolean }): DecodedInput {
  let value: unknown = structuredClone({ ...raw });
  if (options.fromText) value = Value.Convert(schema, value);
  value = Value.Default(schema, value);
  const validator = validatorFor(schema);
  if (validator.Check(value)) return { ok: true, value: value as Record<string, unknown> };
  return { ok: false, problems: describeProblems(schema, value, validator) };
}

/** At most one problem per property, in a sentence an operator understands. */
function describeProblems(schema: TSchema, value: unknown, validator: Validator): InputProblem[] {
  const byProperty = new Map<string, InputProblem>();
  const properties = (schema as { properties?: Record<string, { enum?: readonly unknown[]; description?: string }> }).properties ?? {};
  for (const e of validator.Errors(value)) {
    let property = topProperty(e.instancePath);
    let message = e.message;
    if (e.keyword === 'required') {
      const missing = (e.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      property = missing[0] ?? '';
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' || (e.keyword === 'boolean' && e.schemaPath.endsWith('additionalProperties'))) {
      message = 'is not an input of this operation';
      if (e.instancePath === '') continue; // the per-property 'boolean' error names it
    } else if (e.keyword === 'pattern') {
      const description = properties[property]?.description;
      message = description === undefined ? 'is not in the expected format' : `is not in the expected format: ${description}`;
    } else {
      const allowed = properties[property]?.enum;
      if (e.keyword === 'enum' && allowed !== undefined) message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    if (!byProperty.has(property)) byProperty.set(property, { property, message });
  }
  return byProperty.size > 0 ? [...byProperty.values()] : [{ property: '', message: 'is not a valid input' }];
}

/** The first property of a JSON Pointer (RFC 6901: `~1` is `/`, `~0` is `~`); `''` for the root. */
function topProperty(pointer: string): string {
  if (!pointer.startsWith('/')) return '';
  return pointer.slice(1).split('/')[0]!.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** `maxUses: must be >= 1; label: is required` */
export function formatProblems(problems: readonly InputProblem[], name: (property: string) => string = (p) => p): string {
  return problems.map((p) => (p.property === '' ? p.message : `${name(p.property)}: ${p.message}`)).join('; ');
}
