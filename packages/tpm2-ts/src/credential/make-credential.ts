import { createCipheriv, createHmac } from 'node:crypto';
import { marshal } from '../codec/codec.js';
import { algName, hashAlgorithm, TPM_ALG } from '../constants/alg.js';
import { kdfa } from '../crypto/kdf.js';
import { shareSeed } from '../crypto/secret-sharing.js';
import { TPM2B_DIGEST } from '../structures/basic.js';
import type { TpmtPublic } from '../structures/public.js';
import type { TpmtSymDefObject } from '../structures/schemes.js';

/** The inputs cannot make a credential a TPM would activate. */
export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

export interface MakeCredentialInput {
  /** Public area of the key that will decrypt the seed: the EK (a restricted decryption key). */
  readonly ekPublic: TpmtPublic;
  /** Name of the key the credential is for (the AK): ActivateCredential releases the secret only to a loaded object with this Name. */
  readonly name: Uint8Array;
  /** The secret to release, at most the EK nameAlg's digest size (Part 3 §12.6: TPM_RC_SIZE otherwise). */
  readonly secret: Uint8Array;
}

/** MakeCredential's output, the two parameters ActivateCredential takes. */
export interface Credential {
  /** TPM2B_ID_OBJECT contents: TPM2B_DIGEST(integrityHMAC) || encIdentity. */
  readonly credentialBlob: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET contents: the seed, encrypted to the EK. */
  readonly encryptedSecret: Uint8Array;
}

/** The EK's symmetric definition, which fixes the credential cipher (AES in CFB mode is all the TPM uses for it). */
function cipherOf(sym: TpmtSymDefObject | undefined): string {
  if (!sym || sym.algorithm !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB) {
    throw new CredentialError(`the EK's symmetric definition must be AES-CFB, got ${sym ? `${algName(sym.algorithm)}/${algName(Number(sym.mode))}` : 'none'}`);
  }
  const bits = Number(sym.keyBits);
  if (bits !== 128 && bits !== 192 && bits !== 256) throw new CredentialError(`AES key size ${bits} is not 128, 192 or 256`);
  return `aes-${bits}-cfb`;
}

/**
 * Protects `secret` for `name` under `seed` (Part 1 "Credential Protection";
 * the inverse of TPM2_ActivateCredential, Part 3 §12.5):
 *
 *   symKey        = KDFa(nameAlg, seed, "STORAGE", name, "", symmetric key bits)
 *   encIdentity   = AES-CFB(symKey, IV = 0, TPM2B_DIGEST(secret))     -- size-prefixed
 *   HMACkey       = KDFa(nameAlg, seed, "INTEGRITY", "", "", digest bits)
 *   integrityHMAC = HMAC_nameAlg(HMACkey, encIdentity || name)
 *   credentialBlob = TPM2B_DIGEST(integrityHMAC) || encIdentity
 *
 * Exposed for tests with a known seed; use `makeCredential`.
 */
export function protectCredential(ekPublic: TpmtPublic, name: Uint8Array, secret: Uint8Array, seed: Uint8Array): Uint8Array {
  const nameHash = hashAlgorithm(ekPublic.nameAlg);
  if (!nameHash) throw new CredentialError(`EK nameAlg ${algName(ekPublic.nameAlg)} is not a hash algorithm`);
  if (secret.length === 0 || secret.length > nameHash.size) {
    throw new CredentialError(`the secret must be 1 to ${nameHash.size} bytes (the EK nameAlg digest size), got ${secret.length}`);
  }
  const cipher = cipherOf((ekPublic.parameters as { symmetric?: TpmtSymDefObject }).symmetric);
  const symKey = kdfa(ekPublic.nameAlg, seed, 'STORAGE', name, new Uint8Array(0), Number((ekPublic.parameters as { symmetric: TpmtSymDefObject }).symmetric.keyBits));
  const c = createCipheriv(cipher, symKey, Buffer.alloc(16));
  const encIdentity = Buffer.concat([c.update(marshal(TPM2B_DIGEST, secret)), c.final()]);
  const hmacKey = kdfa(ekPublic.nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), nameHash.size * 8);
  const integrity = createHmac(nameHash.nodeName, hmacKey).update(encIdentity).update(name).digest();
  return new Uint8Array(Buffer.concat([marshal(TPM2B_DIGEST, integrity), encIdentity]));
}

/**
 * TPM2_MakeCredential in software (Part 3 §12.6), as the verifier runs it:
 * a secret that only the TPM holding `ekPublic`'s private key can recover,
 * and only for a loaded object whose Name is `name`. Send both outputs to the
 * device; TPM2_ActivateCredential returns the secret.
 *
 *   const { credentialBlob, encryptedSecret } = makeCredential({ ekPublic, name: akName, secret });
 *   // wire form: marshal(TPM2B_ID_OBJECT, credentialBlob), marshal(TPM2B_ENCRYPTED_SECRET, encryptedSecret)
 */
export function makeCredential(input: MakeCredentialInput): Credential {
  const { ekPublic, name, secret } = input;
  const attrs = ekPublic.objectAttributes;
  // Part 3 §12.6: the key must be a restricted decryption key (a storage key such as the EK).
  if (!attrs.restricted || !attrs.decrypt || attrs.sign) throw new CredentialError('the EK must be a restricted decryption key (restricted, decrypt, not sign)');
  const nameHash = hashAlgorithm(name.length >= 2 ? (name[0]! << 8) | name[1]! : -1);
  if (!nameHash || name.length !== 2 + nameHash.size) throw new CredentialError('name is not an object Name (nameAlg || digest)');
  const { seed, encryptedSecret } = shareSeed(ekPublic, 'IDENTITY');
  return { credentialBlob: protectCredential(ekPublic, name, secret, seed), encryptedSecret };
}
