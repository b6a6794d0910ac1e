import { canonicalJson } from '@vigil/protocol/core';

/** One difference between two policy documents, at a JSON pointer. */
export interface PolicyChange {
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

/**
 * The differences between two policy documents, by JSON pointer, in key
 * order. Arrays of allowed values are compared as sets (their order means
 * nothing): each value added or removed is its own change, at `path/-`.
 */
export function diffPolicies(before: unknown, after: unknown): PolicyChange[] {
  const out: PolicyChange[] = [];
  walk('', before, after, out);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function escape(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function walk(path: string, a: unknown, b: unknown, out: PolicyChange[]): void {
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = `${path}/${escape(key)}`;
      if (!(key in b)) out.push({ path: p, kind: 'removed', before: a[key] });
      else if (!(key in a)) out.push({ path: p, kind: 'added', after: b[key] });
      else walk(p, a[key], b[key], out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].every((v) => typeof v !== 'object' || v === null)) {
    const as = new Set(a.map((v) => canonicalJson(v)));
    const bs = new Set(b.map((v) => canonicalJson(v)));
    for (const v of a) if (!bs.has(canonicalJson(v))) out.push({ path: `${path}/-`, kind: 'removed', before: v });
    for (const v of b) if (!as.has(canonicalJson(v))) out.push({ path: `${path}/-`, kind: 'added', after: v });
    return;
  }
  if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) out.push({ path: path || '/', kind: 'changed', before: a, after: b });
}
