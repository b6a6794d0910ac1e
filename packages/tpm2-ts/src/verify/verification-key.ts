import { KeyObject } from 'node:crypto';
import { publicKeyFromTpmt, TpmPublicKeyError } from '../crypto/public-key.js';
import type { TpmtPublic } from '../structures/public.js';
import { parsePublicKey } from './public-key-file.js';

/**
 * A signing key made ready for verification once: the node:crypto key, its
 * kind and size, and the TPM public area when known. Quote checking runs
 * thousands of times per second on the verifier; converting a TPMT_PUBLIC or
 * PEM to a KeyObject each time would cost more than the signature check.
 */
export interface VerificationKey {
  readonly kind: 'verification-key';
  readonly key: KeyObject;
  readonly keyType: 'rsa' | 'ec';
  /** RSA: modulus bytes. EC: coordinate (and signature half) bytes. */
  readonly size: number;
  /** The TPM public area, when the key came as one: its scheme limits what the key can have signed. */
  readonly public?: TpmtPublic;
}

/** An AK public key as callers hold it: prepared, a KeyObject, a TPMT_PUBLIC, or bytes in any `parsePublicKey` format. */
export type AkPublic = VerificationKey | KeyObject | TpmtPublic | Uint8Array;

const EC_SIZES: Readonly<Record<string, number>> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

function prepare(key: KeyObject, pub?: TpmtPublic): VerificationKey {
  if (key.type !== 'public') throw new TpmPublicKeyError(`expected a public key, got a ${key.type} key`);
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if ((t === 'rsa' || t === 'rsa-pss') && d.modulusLength) {
    return { kind: 'verification-key', key, keyType: 'rsa', size: Math.ceil(d.modulusLength / 8), ...(pub ? { public: pub } : {}) };
  }
  if (t === 'ec' && d.namedCurve && EC_SIZES[d.namedCurve]) {
    return { kind: 'verification-key', key, keyType: 'ec', size: EC_SIZES[d.namedCurve]!, ...(pub ? { public: pub } : {}) };
  }
  throw new TpmPublicKeyError(`unsupported signing key: ${t ?? 'unknown'}${d.namedCurve ? ` on ${d.namedCurve}` : ''}`);
}

/** A bounded least-recently-used map, for keys that arrive as bytes. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

const byObject = new WeakMap<object, VerificationKey>();
const byBytes = new Lru<VerificationKey>(4096);

function isVerificationKey(v: AkPublic): v is VerificationKey {
  return (v as VerificationKey).kind === 'verification-key';
}

/**
 * Prepares `ak` for signature checks, memoised: per object for KeyObjects
 * and TPMT_PUBLICs, per content for bytes (a bounded LRU of 4096 keys, so a
 * fleet's AKs stay converted). Throws TpmPublicKeyError for keys that cannot
 * verify TPM signatures.
 */
export function verificationKey(ak: AkPublic): VerificationKey {
  if (isVerificationKey(ak)) return ak;
  if (ak instanceof Uint8Array) {
    const id = Buffer.from(ak.buffer, ak.byteOffset, ak.byteLength).toString('base64');
    let v = byBytes.get(id);
    if (!v) {
      const parsed = parsePublicKey(ak);
      v = prepare(parsed.key, parsed.public);
      byBytes.set(id, v);
    }
    return v;
  }
  let v = byObject.get(ak);
  if (!v) {
    v = ak instanceof KeyObject ? prepare(ak) : prepare(publicKeyFromTpmt(ak), ak);
    byObject.set(ak, v);
  }
  return v;
}
