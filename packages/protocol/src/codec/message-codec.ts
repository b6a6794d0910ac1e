import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ProtocolError } from '../errors.js';
import { parseJsonPayload } from '../json/safe-parse.js';

/**
 * Decoder and encoder for one message kind. The schema is compiled to a JIT
 * validator once, on first use (so a process that never handles a kind, such
 * as an admin CLI, does not pay for compiling it); after that, decoding a
 * message does no schema work beyond running that function.
 */
export interface MessageCodec<T> {
  /** Message kind, for error messages (e.g. `evidence`). */
  readonly kind: string;
  /** Payloads larger than this are refused before they are parsed. */
  readonly maxBytes: number;
  /** The TypeBox schema (a JSON Schema document) of the message. */
  readonly schema: TSchema;
  /** Bytes off the wire → the typed message, or the reason it was refused. */
  decode(payload: Uint8Array): T | ProtocolError;
  /** Typed message → bytes to publish. Throws ProtocolError if the message is invalid (a bug in the sender). */
  encode(message: T): Uint8Array;
}

function depth(pointer: string): number {
  let n = 0;
  for (let i = 0; i < pointer.length; i++) if (pointer.charCodeAt(i) === 0x2f) n++;
  return n;
}

export function messageCodec<S extends TSchema>(kind: string, schema: S, maxBytes: number): MessageCodec<Static<S>> {
  let compiled: { validator: ReturnType<typeof Compile>; branches: Branch[] } | undefined;
  const compile = () => (compiled ??= { validator: Compile(schema), branches: unionBranches(schema) });

  function schemaError(value: unknown): ProtocolError {
    const { validator, branches } = compile();
    // For a union (the `ok: true | false` results), explain the failure
    // against the branch the message meant, not against every branch.
    const branch = branches.length > 0 ? closestBranch(branches, value) : undefined;
    const errors = (branch?.validator ?? validator).Errors(value);
    // TypeBox reports an unexpected property twice (a `false` schema at the
    // property, `additionalProperties` at its parent, which names it) and a
    // union failure as `anyOf` plus every branch's errors. The most specific
    // error is the deepest one that is neither of those summaries; for the
    // `ok`-discriminated unions that is an error in the intended branch.
    const specific = errors.filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf');
    const first = (specific.length > 0 ? specific : errors).reduce<(typeof errors)[number] | undefined>(
      (best, e) => (best === undefined || depth(e.instancePath) > depth(best.instancePath) ? e : best),
      undefined,
    );
    if (first === undefined) return new ProtocolError('schema', `${kind}: does not match the schema`);
    const path = first.instancePath;
    let detail = first.message;
    if (first.keyword === 'additionalProperties') {
      const names = (first.params as { additionalProperties: string[] }).additionalProperties;
      detail = `unexpected ${names.length === 1 ? 'property' : 'properties'} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
    }
    return new ProtocolError('schema', `${kind}: ${path === '' ? '(root)' : path} ${detail}`, path);
  }

  return {
    kind,
    maxBytes,
    schema,
    decode(payload: Uint8Array): Static<S> | ProtocolError {
      if (payload.length > maxBytes) {
        return new ProtocolError('payload-too-large', `${kind}: payload of ${payload.length} bytes exceeds ${maxBytes}`);
      }
      let value: unknown;
      try {
        value = parseJsonPayload(payload);
      } catch (err) {
        if (err instanceof ProtocolError) return new ProtocolError(err.reason, `${kind}: ${err.message}`, err.path);
        throw err;
      }
      if (compile().validator.Check(value)) return value as Static<S>;
      return schemaError(value);
    },
    encode(message: Static<S>): Uint8Array {
      if (!compile().validator.Check(message)) throw schemaError(message);
      // Buffer.from rather than TextEncoder: ~3x faster for the kilobyte messages a verdict sends
      // (docs/benchmarks.md, twenty-second round). Returned as a plain Uint8Array view, so a caller's
      // slice copies as it would from TextEncoder.
      const encoded = Buffer.from(JSON.stringify(message), 'utf8');
      const bytes = new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
      if (bytes.length > maxBytes) {
        throw new ProtocolError('payload-too-large', `${kind}: encoded message of ${bytes.length} bytes exceeds ${maxBytes}`);
      }
      return bytes;
    },
  };
}

interface Branch {
  /** Properties the branch fixes with `const` (discriminators such as `ok`). */
  readonly consts: ReadonlyArray<readonly [string, unknown]>;
  readonly validator: ReturnType<typeof Compile>;
}

function unionBranches(schema: TSchema): Branch[] {
  const anyOf = (schema as { anyOf?: unknown }).anyOf;
  if (!Array.isArray(anyOf)) return [];
  return (anyOf as TSchema[]).map((branch) => {
    const properties = (branch as { properties?: Record<string, { const?: unknown }> }).properties ?? {};
    const consts = Object.entries(properties)
      .filter(([, p]) => Object.hasOwn(p, 'const'))
      .map(([name, p]) => [name, p.const] as const);
    return { consts, validator: Compile(branch) };
  });
}

/** The branch whose constant properties the value matches best (first on a tie). */
function closestBranch(branches: Branch[], value: unknown): Branch | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  let best: Branch | undefined;
  let bestScore = -1;
  for (const b of branches) {
    const score = b.consts.filter(([name, c]) => record[name] === c).length;
    if (score > bestScore) {
      best = b;
      bestScore = score;
    }
  }
  return best;
}
