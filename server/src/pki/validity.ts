import { PkiError } from './errors.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Certificates are backdated a little so that a device whose clock lags the
 * server's by a few minutes does not see a "not yet valid" certificate.
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

export function hours(n: number): number {
  return n * HOUR_MS;
}

export function days(n: number): number {
  return n * DAY_MS;
}

/** A validity window starting (backdated) at `from` and lasting `durationMs` from `from`. */
export function validityWindow(from: Date, durationMs: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(durationMs) || durationMs <= 0 || durationMs > days(36_525)) {
    throw new PkiError('invalid-option', `validity must be between 1 ms and 100 years, got ${durationMs} ms`);
  }
  if (Number.isNaN(from.getTime())) throw new PkiError('invalid-option', 'validity start is not a valid date');
  return { notBefore: new Date(from.getTime() - CLOCK_SKEW_MS), notAfter: new Date(from.getTime() + durationMs) };
}
