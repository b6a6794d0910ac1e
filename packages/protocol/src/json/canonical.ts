/**
 * Canonical JSON: the one byte sequence a JSON value signs or hashes to.
 * Object keys sorted by UTF-16 code units, no whitespace, strings and numbers
 * as ECMAScript JSON.stringify writes them, properties whose value is
 * `undefined` omitted. For the values Vigil signs (strings, integers,
 * booleans, null, arrays, plain objects) this is the JSON Canonicalization
 * Scheme of RFC 8785, so other languages can reproduce it.
 *
 * @throws TypeError for values JSON cannot represent exactly (non-finite
 *   numbers, bigint, functions, symbols, undefined array elements, cycles).
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (seen.has(value)) throw new TypeError('canonicalJson: cyclic value');
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        out = '[' + value.map((item: unknown) => {
          if (item === undefined) throw new TypeError('canonicalJson: undefined array element');
          return write(item, seen);
        }).join(',') + ']';
      } else {
        const record = value as Record<string, unknown>;
        const parts: string[] = [];
        for (const key of Object.keys(record).sort()) {
          const v = record[key];
          if (v === undefined) continue;
          parts.push(JSON.stringify(key) + ':' + write(v, seen));
        }
        out = '{' + parts.join(',') + '}';
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}
