/**
 * Hostile payloads for any JSON message topic, derived from one valid
 * message: bytes that are not UTF-8 or not JSON, deep nesting, prototype
 * keys, every field of the wrong type or missing, unknown fields, fields
 * over their size limit, invalid base64, control characters, numbers JSON
 * cannot hold, duplicate keys, and a payload over the topic's byte limit.
 * Each case names the `ProtocolError` reason the codec must refuse it with,
 * so a test can check the server answered it for that reason.
 */
import { MAX_JSON_DEPTH, type ProtocolErrorReason } from '@vigil/protocol';

export interface HostilePayload {
  readonly name: string;
  readonly payload: Uint8Array;
  /** The refusal reason the message codec gives. */
  readonly reason: ProtocolErrorReason;
}

export interface HostileJsonOptions {
  /** The topic's payload limit in bytes (`MAX_PAYLOAD_BYTES[kind]`). */
  readonly maxBytes: number;
  /** Fields (JSON pointer-free top-level names) holding base64. */
  readonly base64Fields?: readonly string[];
  /** Free-text fields (paths as arrays of keys) where a control character must be refused. */
  readonly textFields?: ReadonlyArray<readonly string[]>;
  /** Top-level fields the schema lets a message omit (no "missing" case for them). */
  readonly optionalFields?: readonly string[];
  /** Include cases as large as the payload limit when it is over 64 KiB (megabytes for evidence). */
  readonly huge?: boolean;
}

const utf8 = new TextEncoder();
const json = (v: unknown): Uint8Array => utf8.encode(JSON.stringify(v));

/** A value of another JSON type than `v`. */
function otherType(v: unknown): unknown {
  if (typeof v === 'string') return 12345;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return 'true';
  if (Array.isArray(v)) return { 0: v[0] ?? null };
  if (v !== null && typeof v === 'object') return [v];
  return {};
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(obj);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

/** Every hostile payload for a topic whose valid message is `valid`. */
export function hostileJson(valid: Record<string, unknown>, options: HostileJsonOptions): HostilePayload[] {
  const out: HostilePayload[] = [];
  const add = (name: string, payload: Uint8Array, reason: ProtocolErrorReason) => out.push({ name, payload, reason });

  add('an empty payload', new Uint8Array(0), 'invalid-json');
  add('bytes that are not UTF-8', Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), 'invalid-json');
  add('JSON cut in the middle', json(valid).subarray(0, Math.floor(json(valid).length / 2)), 'invalid-json');
  add('not JSON at all', utf8.encode('<evidence/>'), 'invalid-json');
  add('a JSON array instead of an object', json([valid]), 'schema');
  add('JSON null', utf8.encode('null'), 'schema');
  add(`arrays nested ${MAX_JSON_DEPTH + 1} deep`, utf8.encode('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1)), 'too-deep');
  const brackets = Math.min(100_000, options.maxBytes);
  add(`${brackets} open brackets`, utf8.encode('['.repeat(brackets)), 'too-deep');
  const deepValue = JSON.parse('{"a":'.repeat(MAX_JSON_DEPTH) + '1' + '}'.repeat(MAX_JSON_DEPTH)) as unknown;
  add('a field holding objects nested past the limit', json({ ...valid, x: deepValue }), 'too-deep');
  add('a __proto__ key', utf8.encode(JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"isAdmin":true},')), 'forbidden-key');
  add('a constructor key spelled with a unicode escape', utf8.encode(JSON.stringify(valid).replace(/^\{/, '{"\\u0063onstructor":{"prototype":{}},')), 'forbidden-key');
  add('an unknown field', json({ ...valid, deviceId: 'someone-else' }), 'schema');
  add('protocol version 2', json({ ...valid, v: 2 }), 'schema');
  add('a number JSON cannot hold (1e400)', utf8.encode(JSON.stringify(valid).replace('"v":1', '"v":1e400')), 'schema');

  for (const [key, value] of Object.entries(valid)) {
    add(`"${key}" of the wrong type`, json({ ...valid, [key]: otherType(value) }), 'schema');
    const { [key]: _dropped, ...rest } = valid;
    if (!(options.optionalFields ?? []).includes(key)) add(`"${key}" missing`, json(rest), 'schema');
    if (typeof value === 'string') add(`"${key}" 64 KiB long`, json({ ...valid, [key]: 'A'.repeat(64 * 1024) }), options.maxBytes < 64 * 1024 ? 'payload-too-large' : 'schema');
  }
  for (const key of options.base64Fields ?? []) {
    add(`"${key}" with characters outside base64`, json({ ...valid, [key]: '!!!!' }), 'schema');
    add(`"${key}" as base64url`, json({ ...valid, [key]: '-_-_' }), 'schema');
    add(`"${key}" without padding`, json({ ...valid, [key]: 'AAA' }), 'schema');
    add(`"${key}" with a newline`, json({ ...valid, [key]: 'AAAA\nAAAA' }), 'schema');
  }
  for (const path of options.textFields ?? []) {
    add(`${path.join('.')} with a forged log line`, json(setPath(valid, path, 'x\n{"level":60,"msg":"forged"}')), 'schema');
    add(`${path.join('.')} with a terminal escape`, json(setPath(valid, path, '\u001b[2Jcleared')), 'schema');
  }
  // Duplicate keys: JSON.parse keeps the last one; a second "v" of another value must not slip past the schema.
  add('a duplicate "v" key whose last value is wrong', utf8.encode(JSON.stringify(valid).replace(/\}$/, ',"v":"1"}')), 'schema');

  const over = options.maxBytes + 1;
  if (options.huge === true || over <= 64 * 1024) add(`a payload of ${over} bytes (one over the limit)`, utf8.encode(`{"v":1,"pad":"${'A'.repeat(over - 15)}"}`), 'payload-too-large');
  if (options.huge === true) {
    // Just under the limit, so it is parsed: a megabytes-long string where a short one belongs.
    const pad = options.maxBytes - json(valid).length - 64;
    add(`a ${Math.round(pad / 1024 / 1024)} MiB string in a short field`, json({ ...valid, challengeId: 'A'.repeat(pad) }), 'schema');
  }
  return out;
}
