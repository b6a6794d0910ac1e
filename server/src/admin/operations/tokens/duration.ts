const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `1h`, `7d`, or combinations such as `1h30m`. */
export const DURATION_PATTERN = '^(?:\\d{1,6}[smhd]){1,4}$';

/** Milliseconds in a duration matching DURATION_PATTERN. */
export function durationMs(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}
