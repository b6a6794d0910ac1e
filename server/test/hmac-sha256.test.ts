/**
 * HMAC-SHA256 over one-shot hashes (server/src/verifier/challenges/hmac-sha256.ts)
 * against node:crypto's HMAC, the independent implementation: equal for keys
 * shorter than, equal to and longer than SHA-256's 64-byte block, for messages
 * in any number of parts of bytes and UTF-8 strings, and for one instance
 * reused across messages longer and shorter than its scratch space.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../src/verifier/challenges/hmac-sha256.js';

const part = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.string({ unit: 'grapheme', maxLength: 40 }));

function reference(key: Uint8Array, parts: readonly (Uint8Array | string)[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

describe('HmacSha256', () => {
  it('equals createHmac for any key and any message, one instance reused across messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.array(part, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), (key, messages) => {
        const hmac = new HmacSha256(key);
        for (const m of messages) expect(hmac.digest(m).toString('hex')).toBe(reference(key, m).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('gives RFC 4231 test case 2 (key "Jefe")', () => {
    // RFC 4231 §4.3: HMAC-SHA-256("Jefe", "what do ya want for nothing?").
    const mac = new HmacSha256(Buffer.from('Jefe')).digest(['what do ya want ', 'for nothing?']);
    expect(mac.toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('gives RFC 4231 test case 6 (a 131-byte key, hashed first)', () => {
    // RFC 4231 §4.7: key 0xaa x 131, "Test Using Larger Than Block-Size Key - Hash Key First".
    const mac = new HmacSha256(Buffer.alloc(131, 0xaa)).digest(['Test Using Larger Than Block-Size Key - Hash Key First']);
    expect(mac.toString('hex')).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it('returns a digest of its own: a later MAC does not change an earlier one', () => {
    const hmac = new HmacSha256(Buffer.alloc(32, 7));
    const first = hmac.digest([Buffer.from('one')]);
    const copy = Buffer.from(first);
    hmac.digest([Buffer.alloc(1000, 1)]);
    expect(first.equals(copy)).toBe(true);
  });
});
