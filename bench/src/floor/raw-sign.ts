/**
 * Bare ECDSA P-256 / SHA-256 signatures per second on this thread, of a
 * quote-sized message with a prepared KeyObject and IEEE P1363 output — the
 * device side's one cryptographic operation per verdict, the counterpart of
 * the verify benchmark's `rawVerifyRate`.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export function rawSignRate(seconds: number): number {
  const message = Buffer.alloc(145, 0x5a); // a TPMS_ATTEST of a 12-PCR quote is 145 bytes
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const options = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  const run = (ms: number) => {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < 20; i++) if (sign('sha256', message, options).length !== 64) throw new Error('raw sign: not a P-256 signature');
      n += 20;
      now = performance.now();
    }
    return (n * 1000) / (now - start);
  };
  run(Math.min(500, seconds * 250)); // warm up
  // Median of five windows, as rawVerifyRate: the machine is shared, a single window catches whatever else ran.
  const rates = Array.from({ length: 5 }, () => run((seconds * 1000) / 5)).sort((a, b) => a - b);
  return rates[2]!;
}
