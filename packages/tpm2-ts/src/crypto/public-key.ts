import { createPublicKey, type KeyObject } from 'node:crypto';
import { ECC_CURVES, TPM_ALG } from '../constants/alg.js';
import type { TpmtPublic } from '../structures/public.js';

/** Thrown when a public area does not describe a key node:crypto can use. */
export class TpmPublicKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TpmPublicKeyError';
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/** Left-pads an unsigned big-endian integer to `size` bytes (TPM2B_ECC_PARAMETER may drop leading zeros). */
function pad(b: Uint8Array, size: number, what: string): Uint8Array {
  if (b.length > size) throw new TpmPublicKeyError(`${what} is ${b.length} bytes, longer than the curve's ${size}`);
  if (b.length === size) return b;
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out;
}

/**
 * The node:crypto public key of an RSA or ECC TPMT_PUBLIC (Part 2 §12.2.4):
 * RSA from `unique` (the modulus) and `parameters.exponent` (0 means 65537,
 * Part 2 §12.2.3.5); ECC from the `unique` point on `parameters.curveID`.
 */
export function publicKeyFromTpmt(pub: TpmtPublic): KeyObject {
  if (pub.type === TPM_ALG.RSA) {
    const params = pub.parameters as { exponent: number; keyBits: number };
    const n = pub.unique as Uint8Array;
    if (n.length === 0) throw new TpmPublicKeyError('RSA public area has an empty modulus');
    const exponent = params.exponent === 0 ? 65537 : params.exponent;
    const e = Buffer.alloc(4);
    e.writeUInt32BE(exponent);
    const firstNonZero = e.findIndex((x) => x !== 0);
    return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e.subarray(firstNonZero)) }, format: 'jwk' });
  }
  if (pub.type === TPM_ALG.ECC) {
    const params = pub.parameters as { curveID: number };
    const curve = ECC_CURVES.get(params.curveID);
    if (!curve) throw new TpmPublicKeyError(`ECC curve 0x${params.curveID.toString(16)} is not supported`);
    const point = pub.unique as { x: Uint8Array; y: Uint8Array };
    try {
      return createPublicKey({
        key: { kty: 'EC', crv: curve.jwkName, x: b64url(pad(point.x, curve.size, 'x')), y: b64url(pad(point.y, curve.size, 'y')) },
        format: 'jwk',
      });
    } catch (e) {
      if (e instanceof TpmPublicKeyError) throw e;
      throw new TpmPublicKeyError(`ECC point is not on ${curve.jwkName}: ${(e as Error).message}`);
    }
  }
  throw new TpmPublicKeyError(`public area of type 0x${pub.type.toString(16)} is not an RSA or ECC key`);
}
