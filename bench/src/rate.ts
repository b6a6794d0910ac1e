import { performance } from 'node:perf_hooks';

/**
 * Calls of `op` per second on this thread: a warm-up, then the median of
 * five windows over `seconds` in all (the machine is shared, and a single
 * window catches whatever else ran). `op` is called 20 at a time between
 * clock reads, so reading the clock does not weigh on a fast operation.
 */
export function medianRate(seconds: number, op: () => void): number {
  const run = (ms: number) => {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < 20; i++) op();
      n += 20;
      now = performance.now();
    }
    return (n * 1000) / (now - start);
  };
  run(Math.min(500, seconds * 250)); // warm up
  const rates = Array.from({ length: 5 }, () => run((seconds * 1000) / 5)).sort((a, b) => a - b);
  return rates[2]!;
}
