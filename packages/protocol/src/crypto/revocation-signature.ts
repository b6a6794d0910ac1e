import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../json/canonical.js';
import type { RevocationEvent, UnsignedRevocationEvent } from '../schema/revocation.js';

/** Prefix of the signed bytes: the server's key may sign other things; this makes a revocation signature mean only that. */
export const REVOCATION_SIGNING_CONTEXT = 'vigil/v1 revocation\n';

/**
 * The exact bytes a revocation event's signature covers: UTF-8 of
 * `"vigil/v1 revocation\n"` followed by the canonical JSON (RFC 8785 key
 * order, no whitespace; see `canonicalJson`) of the event without its
 * `signature` field, i.e. `{deviceId, keyId, message?, reason, revokedAt, serials, v}`.
 */
export function revocationSigningBytes(event: Omit<RevocationEvent, 'signature'>): Uint8Array {
  const { signature: _ignored, ...rest } = event as RevocationEvent;
  return Buffer.from(REVOCATION_SIGNING_CONTEXT + canonicalJson(rest), 'utf8');
}

/** Key id: lowercase hex SHA-256 of the public key's SubjectPublicKeyInfo DER. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

/**
 * The digest argument node:crypto wants for this key: SHA-256 for RSA
 * (RSASSA-PKCS1-v1_5, RFC 8017 §8.2) and ECDSA (DER signature), none for
 * Ed25519/Ed448 which hash internally.
 */
function digestFor(key: KeyObject): string | null {
  const type = key.asymmetricKeyType;
  return type === 'ed25519' || type === 'ed448' ? null : 'sha256';
}

/** Signs an event with the server's private key, filling `keyId` and `signature`. */
export function signRevocation(event: UnsignedRevocationEvent, privateKey: KeyObject): RevocationEvent {
  const withKey = { ...event, keyId: keyIdOf(privateKey) };
  const signature = sign(digestFor(privateKey), revocationSigningBytes(withKey), privateKey);
  return { ...withKey, signature: signature.toString('base64') };
}

/** True if `event` was signed by the private half of `publicKey` (and names that key). */
export function verifyRevocation(event: RevocationEvent, publicKey: KeyObject): boolean {
  if (event.keyId !== keyIdOf(publicKey)) return false;
  try {
    return verify(digestFor(publicKey), revocationSigningBytes(event), publicKey, Buffer.from(event.signature, 'base64'));
  } catch {
    return false;
  }
}
