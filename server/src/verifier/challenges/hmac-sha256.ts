import { hash } from 'node:crypto';

/** SHA-256's block size in bytes (FIPS 180-4 §5.1.1): HMAC pads its key to one block. */
const BLOCK = 64;
const DIGEST = 32;
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * HMAC-SHA256 with one key, as RFC 2104 §2 defines it (FIPS 198-1 §4):
 *
 *   HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))
 *
 * computed as two one-shot SHA-256 hashes (`crypto.hash`) with both padded
 * keys made once. Why not `createHmac`: each call builds a stream object and
 * a native handle and has OpenSSL initialise a MAC context from the key, and
 * the sealed challenges make three MACs a verdict on the event loop (two to
 * seal, one to open); under load that was ~20 µs of the loop a verdict, most
 * of it the context's set-up (docs/benchmarks.md, twenty-second round).
 * Equal to `createHmac('sha256', key)` for every key and message
 * (`server/test/hmac-sha256.test.ts`).
 */
export class HmacSha256 {
  /** K ⊕ ipad, then the message being MACed written after it. */
  #inner: Buffer;
  /** K ⊕ opad ‖ the inner hash. */
  readonly #outer = Buffer.alloc(BLOCK + DIGEST);

  constructor(key: Uint8Array) {
    // A key longer than a block is hashed first (RFC 2104 §2); a shorter one is padded with zeros.
    const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
    this.#inner = Buffer.alloc(BLOCK + 192);
    for (let i = 0; i < BLOCK; i++) {
      const byte = k[i] ?? 0;
      this.#inner[i] = byte ^ IPAD;
      this.#outer[i] = byte ^ OPAD;
    }
  }

  /** The MAC of the concatenation of `parts` (strings as UTF-8). */
  digest(parts: readonly (Uint8Array | string)[]): Buffer {
    let length = BLOCK;
    for (const part of parts) length += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    if (length > this.#inner.length) {
      const grown = Buffer.alloc(length * 2);
      this.#inner.copy(grown, 0, 0, BLOCK);
      this.#inner = grown;
    }
    let at = BLOCK;
    for (const part of parts) {
      if (typeof part === 'string') at += this.#inner.write(part, at);
      else {
        this.#inner.set(part, at);
        at += part.length;
      }
    }
    this.#outer.set(hash('sha256', this.#inner.subarray(0, length), 'buffer'), BLOCK);
    return hash('sha256', this.#outer, 'buffer');
  }
}
