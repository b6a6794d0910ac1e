import type { ReasonLocation, VerdictReason } from '@vigil/protocol/core';

/** Control characters never reach a verdict: reasons quote device-supplied text (paths). */
function clean(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * A verdict reason within the protocol's bounds (message ≤ 1024 characters,
 * expected/actual ≤ 256, path ≤ 4096, no control characters), so a reason
 * built from hostile evidence can never make the verdict fail validation.
 */
export function reason(code: string, message: string, where?: ReasonLocation): VerdictReason {
  if (where === undefined) return { code, message: clean(message, 1024) };
  const w: { -readonly [K in keyof ReasonLocation]: ReasonLocation[K] } = { ...where };
  if (w.path !== undefined) w.path = clean(w.path, 4096);
  if (w.expected !== undefined) w.expected = clean(w.expected, 256);
  if (w.actual !== undefined) w.actual = clean(w.actual, 256);
  return { code, message: clean(message, 1024), where: w };
}

/** A list of allowed values for `expected`: the first few, then how many more. */
export function oneOf(values: Iterable<string>): string {
  const all = [...values];
  if (all.length === 1) return all[0]!;
  const shown = all.slice(0, 2).join(' | ');
  return all.length > 2 ? `${shown} | … (${all.length} allowed)` : shown;
}
