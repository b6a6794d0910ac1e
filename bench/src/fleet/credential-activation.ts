/**
 * TPM2_ActivateCredential (TPM 2.0 Part 3 §12.5) for a software TPM: what
 * a TPM does with the registrar's MakeCredential output, with the EK's
 * private key in process memory instead of a chip. The inverse of
 * `makeCredential` in @vigil/tpm2-ts (Part 1 §24 "Credential Protection"):
 *
 *   seed          = ECDH(EK, ephemeral) → KDFe(nameAlg, Z, "IDENTITY", ephemeral x, EK x)  (Part 1 Annex C.6.1)
 *   HMACkey       = KDFa(nameAlg, seed, "INTEGRITY", "", "", digest bits)
 *   integrityHMAC = HMAC(HMACkey, encIdentity ‖ Name(AK))  — must match: the credential is for this AK
 *   symKey        = KDFa(nameAlg, seed, "STORAGE", Name(AK), "", symmetric bits)
 *   secret        = TPM2B_DIGEST in AES-CFB⁻¹(symKey, IV = 0, encIdentity)
 *
 * Only the ECC P-256 EK of a `SoftwareTpm` is supported. A TPM refuses a
 * credential whose HMAC does not match (TPM_RC_INTEGRITY); so does this.
 */
import { createDecipheriv, createHmac, createPublicKey, diffieHellman, timingSafeEqual } from 'node:crypto';
import { kdfa, kdfe, TPM_ALG, TPM2B_DIGEST, TPMS_ECC_POINT, unmarshal, type TpmsEccPoint } from '@vigil/tpm2-ts';
import type { SoftwareTpm } from './software-tpm.js';

export class CredentialActivationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialActivationError';
  }
}

/** Splits TPM2B_DIGEST(integrityHMAC) ‖ encIdentity (the contents of a TPM2B_ID_OBJECT). */
function splitIdObject(credentialBlob: Uint8Array): { integrity: Uint8Array; encIdentity: Uint8Array } {
  if (credentialBlob.length < 2) throw new CredentialActivationError('credential blob shorter than its size field');
  const size = (credentialBlob[0]! << 8) | credentialBlob[1]!;
  if (size === 0 || 2 + size >= credentialBlob.length) throw new CredentialActivationError(`credential blob: integrity HMAC of ${size} bytes does not fit`);
  return { integrity: credentialBlob.subarray(2, 2 + size), encIdentity: credentialBlob.subarray(2 + size) };
}

/**
 * The secret the credential protects, if it was made for `tpm`'s EK and its
 * AK's Name; throws `CredentialActivationError` otherwise.
 * `credentialBlob` and `encryptedSecret` are the TPM2B contents (no size prefix).
 */
export function activateCredential(tpm: SoftwareTpm, credentialBlob: Uint8Array, encryptedSecret: Uint8Array): Uint8Array {
  const nameAlg = tpm.ekPublic.nameAlg;
  if (nameAlg !== TPM_ALG.SHA256) throw new CredentialActivationError('only a SHA-256 EK is supported');
  let point: TpmsEccPoint;
  try {
    point = unmarshal(TPMS_ECC_POINT, encryptedSecret);
  } catch (err) {
    throw new CredentialActivationError(`encrypted secret is not a TPMS_ECC_POINT: ${(err as Error).message}`);
  }
  const ephemeral = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(point.x).toString('base64url'), y: Buffer.from(point.y).toString('base64url') },
    format: 'jwk',
  });
  const z = diffieHellman({ privateKey: tpm.ekPrivateKey, publicKey: ephemeral });
  const ekX = (tpm.ekPublic.unique as TpmsEccPoint).x;
  const seed = kdfe(nameAlg, new Uint8Array(z), 'IDENTITY', point.x, ekX, 256);
  const { integrity, encIdentity } = splitIdObject(credentialBlob);
  const hmacKey = kdfa(nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), 256);
  const expected = createHmac('sha256', hmacKey).update(encIdentity).update(tpm.akName).digest();
  if (integrity.length !== expected.length || !timingSafeEqual(integrity, expected)) {
    throw new CredentialActivationError('integrity check failed: the credential is not for this EK and AK');
  }
  const symKey = kdfa(nameAlg, seed, 'STORAGE', tpm.akName, new Uint8Array(0), 128);
  const d = createDecipheriv('aes-128-cfb', symKey, Buffer.alloc(16));
  const plain = Buffer.concat([d.update(encIdentity), d.final()]);
  return unmarshal(TPM2B_DIGEST, plain);
}
