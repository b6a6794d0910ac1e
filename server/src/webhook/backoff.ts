/**
 * Wait before retry number `attempt` (1 = the first retry): exponential from
 * `initialMs`, capped at `maxMs`, with "equal jitter" (half fixed, half
 * random) so retries from many failures do not arrive in lockstep, while
 * the wait still grows with every failure.
 */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}
