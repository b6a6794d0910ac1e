import { createHash, createHmac } from 'node:crypto';
import { hashAlgorithm } from '../constants/alg.js';

function hashFor(alg: number): { nodeName: string; size: number } {
  const h = hashAlgorithm(alg);
  if (!h) throw new Error(`KDF: 0x${alg.toString(16)} is not a hash algorithm`);
  return h;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A label as the KDFs use it: the string's bytes followed by one zero octet (Part 1 §11.4.10.1). */
function labelBytes(label: string): Buffer {
  return Buffer.concat([Buffer.from(label, 'ascii'), Buffer.alloc(1)]);
}

/**
 * KDFa (Part 1 §11.4.10.2): SP800-108 counter-mode KDF with HMAC.
 * K(i) = HMAC(key, [i]32 || label || 0x00 || contextU || contextV || [bits]32),
 * output = the first `bits` bits of K(1) || K(2) || ... . Used for session
 * keys ("ATH"), credential protection ("STORAGE", "INTEGRITY") and
 * parameter encryption ("CFB", "XOR").
 */
export function kdfa(hashAlg: number, key: Uint8Array, label: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Uint8Array {
  if (bits <= 0 || bits % 8 !== 0) throw new Error(`KDFa: bits must be a positive multiple of 8, got ${bits}`);
  const h = hashFor(hashAlg);
  const bytes = bits / 8;
  const fixed = Buffer.concat([labelBytes(label), contextU, contextV, u32(bits)]);
  const out = Buffer.alloc(Math.ceil(bytes / h.size) * h.size);
  for (let i = 1, off = 0; off < bytes; i++, off += h.size) {
    createHmac(h.nodeName, key).update(u32(i)).update(fixed).digest().copy(out, off);
  }
  return new Uint8Array(out.subarray(0, bytes));
}

/**
 * KDFe (Part 1 §11.4.10.3): the SP800-56A concatenation KDF used with ECDH.
 * K(i) = H([i]32 || Z || label || 0x00 || partyUInfo || partyVInfo); for
 * MakeCredential/ActivateCredential with an ECC EK, Z is the x-coordinate of
 * the shared point, partyUInfo the ephemeral key's x, partyVInfo the EK's x.
 */
export function kdfe(hashAlg: number, z: Uint8Array, label: string, partyUInfo: Uint8Array, partyVInfo: Uint8Array, bits: number): Uint8Array {
  if (bits <= 0 || bits % 8 !== 0) throw new Error(`KDFe: bits must be a positive multiple of 8, got ${bits}`);
  const h = hashFor(hashAlg);
  const bytes = bits / 8;
  const fixed = Buffer.concat([labelBytes(label), partyUInfo, partyVInfo]);
  const out = Buffer.alloc(Math.ceil(bytes / h.size) * h.size);
  for (let i = 1, off = 0; off < bytes; i++, off += h.size) {
    createHash(h.nodeName).update(u32(i)).update(z).update(fixed).digest().copy(out, off);
  }
  return new Uint8Array(out.subarray(0, bytes));
}
