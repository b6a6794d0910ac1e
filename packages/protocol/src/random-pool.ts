import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for values that are public once sent (challenge nonces,
 * challenge and session ids), taken from a pool that the operating system's
 * CSPRNG refills 4 KiB at a time: one `randomFillSync` per ~80 challenges
 * instead of two per challenge, each of which costs a few microseconds of
 * fixed overhead on the verifier's event loop. Every byte is handed out
 * once. Not for keys or other secrets: those use `node:crypto` directly.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

export function randomPublicBytes(length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > 256) throw new RangeError(`randomPublicBytes: ${length} bytes (1 to 256)`);
  if (offset + length > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  // A copy: the pool's bytes are overwritten at the next refill.
  const out = Buffer.from(pool.subarray(offset, offset + length));
  offset += length;
  return out;
}
