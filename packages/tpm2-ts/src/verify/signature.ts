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
  const alg = signature.sigAlg;
  if (alg === TPM_ALG.HMAC) return fail('unsupported-signature', 'an HMAC signature can only be checked with the secret HMAC key, not a public key');
  if (alg !== TPM_ALG.RSASSA && alg !== TPM_ALG.RSAPSS && alg !== TPM_ALG.ECDSA) {
    return fail('unsupported-signature', `signature scheme ${algName(alg)} is not supported`);
  }
  const body = signature.signature as TpmsSignatureRsa | TpmsSignatureEcc;
  const hash = hashAlgorithm(body.hash);
  if (!hash) return fail('unsupported-signature', `signature hash ${algName(body.hash)} is not a hash algorithm`);
  const wantKey = alg === TPM_ALG.ECDSA ? 'ec' : 'rsa';
  if (key.keyType !== wantKey) return fail('signature-key-mismatch', `a ${algName(alg)} signature cannot come from an ${key.keyType.toUpperCase()} key`);
  const fixed = fixedScheme(key);
  if (fixed && (fixed.scheme !== alg || fixed.hashAlg !== body.hash)) {
    return fail(
      'signature-key-mismatch',
      `the key signs only with ${algName(fixed.scheme)}/${algName(fixed.hashAlg)}, the signature is ${algName(alg)}/${algName(body.hash)}`,
    );
  }

  let ok: boolean;
  try {
    if (alg === TPM_ALG.ECDSA) {
      const ecc = body as TpmsSignatureEcc;
      const r = fixedWidth(ecc.signatureR, key.size);
      const s = fixedWidth(ecc.signatureS, key.size);
      if (!r || !s) return fail('bad-signature', `ECDSA r or s is wider than the curve's ${key.size} bytes`);
      const sig = new Uint8Array(2 * key.size);
      sig.set(r, 0);
      sig.set(s, key.size);
      ok = verify(hash.nodeName, message, { key: key.key, dsaEncoding: 'ieee-p1363' }, sig);
    } else {
      const sig = (body as TpmsSignatureRsa).sig;
      if (sig.length !== key.size) return fail('bad-signature', `RSA signature is ${sig.length} bytes, the modulus ${key.size}`);
      if (alg === TPM_ALG.RSASSA) {
        ok = verify(hash.nodeName, message, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, sig);
      } else {
        // emLen = ceil((modBits - 1) / 8); the largest salt is emLen - hLen - 2 (RFC 8017 §9.1.1).
        const bits = key.key.asymmetricKeyDetails?.modulusLength ?? key.size * 8;
        const maxSalt = Math.ceil((bits - 1) / 8) - hash.size - 2;
        ok = [hash.size, maxSalt].some(
          (saltLength) => saltLength >= 0 && verify(hash.nodeName, message, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig),
        );
      }
    }
  } catch (e) {
    // node:crypto throws on inputs it cannot even parse (e.g. a hash it lacks).
    return fail('bad-signature', `signature could not be checked: ${(e as Error).message}`);
  }
  return ok ? { ok: true, hash } : fail('bad-signature', `${algName(alg)}/${hash.name} signature does not verify with the key`);
}
