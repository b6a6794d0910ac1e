import type { JsonWebKey, KeyObject } from 'node:crypto';

/**
 * True when the certificate's subject public key is the EK's key: the RSA
 * modulus and exponent, or the EC curve and point, are equal. Compared as
 * key components rather than SPKI bytes, so only the key decides, not how
 * the certificate's SubjectPublicKeyInfo happens to encode it.
 */
export function certifiesKey(certificateKey: KeyObject, ekKey: KeyObject): boolean {
  let a: JsonWebKey;
  let b: JsonWebKey;
  try {
    a = certificateKey.export({ format: 'jwk' });
    b = ekKey.export({ format: 'jwk' });
  } catch {
    return false;
  }
  if (a.kty === 'RSA' && b.kty === 'RSA') return a.n === b.n && a.e === b.e;
  if (a.kty === 'EC' && b.kty === 'EC') return a.crv === b.crv && a.x === b.x && a.y === b.y;
  return false;
}
