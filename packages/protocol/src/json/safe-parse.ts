import { ProtocolError } from '../errors.js';

/**
 * Deepest nesting of objects/arrays a message may have. Vigil's deepest
 * message (a verdict: result → verdict → submods → appraisal → reasons →
 * reason → where) is 8 levels; 16 leaves room without letting a hostile
 * payload build deep structures.
 */
export const MAX_JSON_DEPTH = 16;

/** Keys that could reach an object's prototype if a parsed value were ever merged into another. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** The longest escaped spelling of a forbidden key (11 characters × `\uXXXX`). */
const MAX_ESCAPED_FORBIDDEN_KEY = 11 * 6;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses a JSON payload defensively: strict UTF-8, nesting depth bounded
 * before anything is built, and no `__proto__` / `constructor` /
 * `prototype` keys (however they are escaped). The byte-size limit is the
 * caller's job and comes first (see `MessageCodec`).
 */
export function parseJsonPayload(payload: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new ProtocolError('invalid-json', 'payload is not valid UTF-8');
  }
  checkStructure(text);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ProtocolError('invalid-json', `payload is not JSON: ${(err as Error).message}`);
  }
}

/**
 * One pass over the text that jumps over string contents with indexOf (so
 * large base64 fields cost almost nothing) and counts bracket depth outside
 * strings. Malformed JSON is left for JSON.parse to report.
 */
function checkStructure(text: string): void {
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = closingQuote(text, i);
      if (end < 0) return; // unterminated string: JSON.parse reports it
      const len = end - i - 1;
      if (len >= 9 && len <= MAX_ESCAPED_FORBIDDEN_KEY) checkKey(text, i, end);
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new ProtocolError('too-deep', `JSON nesting deeper than ${MAX_JSON_DEPTH} levels at offset ${i}`);
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    j = text.indexOf('"', j);
    if (j < 0) return -1;
    let backslashes = 0;
    for (let k = j - 1; k > start && text.charCodeAt(k) === 0x5c; k--) backslashes++;
    if ((backslashes & 1) === 0) return j;
    j++;
  }
}

/** Throws if the string at [open, close] is an object key spelling a forbidden name. */
function checkKey(text: string, open: number, close: number): void {
  let k = close + 1;
  while (k < text.length && isJsonWhitespace(text.charCodeAt(k))) k++;
  if (text.charCodeAt(k) !== 0x3a /* : */) return;
  const raw = text.slice(open + 1, close);
  let key = raw;
  if (raw.includes('\\')) {
    try {
      key = JSON.parse(text.slice(open, close + 1)) as string;
    } catch {
      return; // malformed escape: JSON.parse of the whole payload reports it
    }
  }
  if (FORBIDDEN_KEYS.has(key)) {
    throw new ProtocolError('forbidden-key', `forbidden key "${key}" at offset ${open}`);
  }
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
