import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { PkiError } from './errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Smallest RSA modulus the fleet CA will certify (NIST SP 800-57: 112-bit security). */
export const MIN_RSA_BITS = 2048;

/**
 * A public key as callers have it: a SubjectPublicKeyInfo PEM (or a
 * certificate PEM, whose key is taken), SPKI DER bytes, or a KeyObject
 * (a private KeyObject yields its public half).
 */
export type PublicKeyInput = string | Uint8Array | KeyObject;

export interface RsaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/**
 * RSA key generation runs in node:crypto (OpenSSL, off the main thread):
 * node-forge's pure-JS generator takes seconds for 3072 bits.
 */
export async function generateRsaKeyPair(bits: number): Promise<RsaKeyPair> {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > 8192) {
    throw new PkiError('invalid-option', `RSA key size must be an integer in [${MIN_RSA_BITS}, 8192], got ${bits}`);
  }
  // As DER, read back into new KeyObjects: in Node 20 exporting a key straight from the generating
  // job can deadlock when the garbage collector destroys the job meanwhile (generateKeyPair in tpm2-ts).
  const der = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return {
    privateKey: createPrivateKey({ key: der.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: der.publicKey, format: 'der', type: 'spki' }),
  };
}

export function toPublicKeyObject(input: PublicKeyInput): KeyObject {
  try {
    if (typeof input === 'string') return createPublicKey(input);
    if (input instanceof Uint8Array) return createPublicKey({ key: Buffer.from(input), format: 'der', type: 'spki' });
    return input.type === 'public' ? input : createPublicKey(input);
  } catch (err) {
    throw new PkiError('invalid-key', `cannot parse public key: ${(err as Error).message}`, { cause: err });
  }
}

export function parsePrivateKeyPem(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new PkiError('invalid-key', `cannot parse ${what}: ${(err as Error).message}`, { cause: err });
  }
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * node-forge builds certificates for RSA keys only, so this is where any other
 * key type is refused with a clear reason instead of a forge exception.
 */
export function toForgeRsaPublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PkiError('unsupported-key', `the fleet CA certifies RSA keys only, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new PkiError('unsupported-key', `RSA key of ${bits} bits is too short (minimum ${MIN_RSA_BITS})`);
  }
  return forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }).toString());
}
