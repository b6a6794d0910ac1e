import { constants, verify } from 'node:crypto';
import { algName, type HashAlgorithm, hashAlgorithm, TPM_ALG } from '../constants/alg.js';
import type { TpmsSignatureEcc, TpmsSignatureRsa, TpmtSignature } from '../structures/signature.js';
import type { VerificationKey } from './verification-key.js';

/** Why a TPM signature was not accepted. */
export type SignatureFailureReason =
  /** A scheme node:crypto cannot check with a public key (HMAC, ECDAA, SM2, EC-Schnorr) or an unknown hash. */
  | 'unsupported-signature'
  /** The signature's scheme does not fit the key (an RSA signature for an ECC key), or differs from the scheme the key's public area fixes. */
  | 'signature-key-mismatch'
  /** The signature does not verify. */
  | 'bad-signature';

export type SignatureCheck =
  | { readonly ok: true; readonly hash: HashAlgorithm }
  | { readonly ok: false; readonly reason: SignatureFailureReason; readonly message: string };

function fail(reason: SignatureFailureReason, message: string): SignatureCheck {
  return { ok: false, reason, message };
}

/** r or s as `size` bytes: strip the leading zeros a TPM2B_ECC_PARAMETER may carry, left-pad short ones. */
function fixedWidth(n: Uint8Array, size: number): Uint8Array | undefined {
  let i = 0;
  while (i < n.length - 1 && n[i] === 0) i++;
  const v = n.subarray(i);
  if (v.length > size) return undefined;
  const out = new Uint8Array(size);
  out.set(v, size - v.length);
  return out;
}

/**
 * The signature scheme the key's public area fixes, if any. A restricted
 * signing key (an AK) carries one scheme and the TPM signs only with it
 * (Part 1 §25.1.3); a signature under another scheme did not come from the
 * TPM through that key.
 */
function fixedScheme(key: VerificationKey): { scheme: number; hashAlg: number } | undefined {
  const p = key.public?.parameters as { scheme?: { scheme: number; details: unknown } } | undefined;
  const s = p?.scheme;
  if (!s || s.scheme === TPM_ALG.NULL) return undefined;
  const hashAlg = (s.details as { hashAlg?: number } | null)?.hashAlg;
  return hashAlg === undefined ? undefined : { scheme: s.scheme, hashAlg };
}

/** One node:crypto verification to run: the signature verifies if any attempt does. */
interface VerifyAttempt {
  readonly key: Parameters<typeof verify>[2];
  readonly signature: Uint8Array;
}

/** What checking a signature comes down to: a refusal already, or node:crypto calls with the hash to use. */
type SignaturePlan = { readonly ok: false; readonly check: SignatureCheck } | { readonly ok: true; readonly hash: HashAlgorithm; readonly attempts: readonly VerifyAttempt[] };

/**
 * Everything about a TPMT_SIGNATURE that can be decided without the
 * signature math: the scheme and hash node:crypto can check, the key's kind
 * and fixed scheme, the widths; then the verify call(s) to make.
 */
function plan(key: VerificationKey, signature: TpmtSignature): SignaturePlan {
  const refuse = (reason: SignatureFailureReason, message: string): SignaturePlan => ({ ok: false, check: fail(reason, message) });
  const alg = signature.sigAlg;
  if (alg === TPM_ALG.HMAC) return refuse('unsupported-signature', 'an HMAC signature can only be checked with the secret HMAC key, not a public key');
  if (alg !== TPM_ALG.RSASSA && alg !== TPM_ALG.RSAPSS && alg !== TPM_ALG.ECDSA) {
    return refuse('unsupported-signature', `signature scheme ${algName(alg)} is not supported`);
  }
  const body = signature.signature as TpmsSignatureRsa | TpmsSignatureEcc;
  const hash = hashAlgorithm(body.hash);
  if (!hash) return refuse('unsupported-signature', `signature hash ${algName(body.hash)} is not a hash algorithm`);
  const wantKey = alg === TPM_ALG.ECDSA ? 'ec' : 'rsa';
  if (key.keyType !== wantKey) return refuse('signature-key-mismatch', `a ${algName(alg)} signature cannot come from an ${key.keyType.toUpperCase()} key`);
  const fixed = fixedScheme(key);
  if (fixed && (fixed.scheme !== alg || fixed.hashAlg !== body.hash)) {
    return refuse(
      'signature-key-mismatch',
      `the key signs only with ${algName(fixed.scheme)}/${algName(fixed.hashAlg)}, the signature is ${algName(alg)}/${algName(body.hash)}`,
    );
  }
  if (alg === TPM_ALG.ECDSA) {
    const ecc = body as TpmsSignatureEcc;
    const r = fixedWidth(ecc.signatureR, key.size);
    const s = fixedWidth(ecc.signatureS, key.size);
    if (!r || !s) return refuse('bad-signature', `ECDSA r or s is wider than the curve's ${key.size} bytes`);
    const sig = new Uint8Array(2 * key.size);
    sig.set(r, 0);
    sig.set(s, key.size);
    return { ok: true, hash, attempts: [{ key: { key: key.key, dsaEncoding: 'ieee-p1363' }, signature: sig }] };
  }
  const sig = (body as TpmsSignatureRsa).sig;
  if (sig.length !== key.size) return refuse('bad-signature', `RSA signature is ${sig.length} bytes, the modulus ${key.size}`);
  if (alg === TPM_ALG.RSASSA) return { ok: true, hash, attempts: [{ key: { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature: sig }] };
  // emLen = ceil((modBits - 1) / 8); the largest salt is emLen - hLen - 2 (RFC 8017 §9.1.1).
  const bits = key.key.asymmetricKeyDetails?.modulusLength ?? key.size * 8;
  const maxSalt = Math.ceil((bits - 1) / 8) - hash.size - 2;
  const attempts = [hash.size, maxSalt]
    .filter((saltLength) => saltLength >= 0)
    .map((saltLength) => ({ key: { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature: sig }));
  return { ok: true, hash, attempts };
}

function outcome(alg: number, hash: HashAlgorithm, ok: boolean): SignatureCheck {
  return ok ? { ok: true, hash } : fail('bad-signature', `${algName(alg)}/${hash.name} signature does not verify with the key`);
}

function unverifiable(e: unknown): SignatureCheck {
  // node:crypto throws on inputs it cannot even parse (e.g. a hash it lacks).
  return fail('bad-signature', `signature could not be checked: ${(e as Error).message}`);
}

/**
 * Verifies a TPMT_SIGNATURE (Part 2 §11.3.4) over `message` with node:crypto,
 * using the hash the signature names:
 *  - RSASSA: PKCS#1 v1.5.
 *  - RSAPSS: MGF1 with the same hash; the salt is either the hash length or
 *    the largest that fits (Part 1 §B.7: TPMs use the largest salt; TPMs in
 *    FIPS mode, and newer libtpms, use the hash length), so both are accepted
 *    and nothing else.
 *  - ECDSA: r || s, each as wide as the curve (IEEE P1363 form).
 * HMAC signatures need the secret key and are rejected as unsupported, as are
 * ECDAA, SM2 and EC-Schnorr.
 */
export function verifyTpmSignature(key: VerificationKey, message: Uint8Array, signature: TpmtSignature): SignatureCheck {
  const p = plan(key, signature);
  if (!p.ok) return p.check;
  try {
    return outcome(signature.sigAlg, p.hash, p.attempts.some((a) => verify(p.hash.nodeName, message, a.key, a.signature)));
  } catch (e) {
    return unverifiable(e);
  }
}

/** `verify` on libuv's thread pool (node:crypto's callback form): the calling thread is free meanwhile. */
function verifyOffThread(algorithm: string, message: Uint8Array, attempt: VerifyAttempt): Promise<boolean> {
  return new Promise((resolve, reject) => verify(algorithm, message, attempt.key, attempt.signature, (err, ok) => (err ? reject(err) : resolve(ok))));
}

/**
 * `verifyTpmSignature` with the signature math on libuv's thread pool, for a
 * verifier whose event loop has other work: the same checks, the same
 * results. An ECDSA P-256 verification is ~120 µs of CPU that the loop
 * then spends on other devices' messages (and a second core, if there is
 * one, does the math).
 */
export async function verifyTpmSignatureAsync(key: VerificationKey, message: Uint8Array, signature: TpmtSignature): Promise<SignatureCheck> {
  const p = plan(key, signature);
  if (!p.ok) return p.check;
  try {
    for (const a of p.attempts) if (await verifyOffThread(p.hash.nodeName, message, a)) return outcome(signature.sigAlg, p.hash, true);
    return outcome(signature.sigAlg, p.hash, false);
  } catch (e) {
    return unverifiable(e);
  }
}
