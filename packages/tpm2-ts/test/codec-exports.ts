// Every codec the package exports: its structures, and the parameter and
// response areas of its command definitions. The codec property tests run
// over this list, so new exports are covered without touching the tests.
import type { Codec } from '../src/codec/codec.js';
import * as tpm2 from '../src/index.js';

function isCodec(v: unknown): v is Codec<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Partial<Codec<unknown>>;
  return typeof c.name === 'string' && typeof c.encode === 'function' && typeof c.decode === 'function';
}

function isCommand(v: unknown): v is { name: string; parameterCodec: Codec<unknown>; responseCodec: Codec<unknown> } {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return isCodec(c['parameterCodec']) && isCodec(c['responseCodec']);
}

/** `[export name, codec]` for every exported codec, command areas included. */
export function exportedCodecs(): [string, Codec<unknown>][] {
  const out: [string, Codec<unknown>][] = [];
  for (const [name, v] of Object.entries(tpm2)) {
    if (isCodec(v)) out.push([name, v]);
    else if (isCommand(v)) {
      out.push([`${name} parameters`, v.parameterCodec], [`${name} response`, v.responseCodec]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}
