// Part 2 §11.2.4-12.2: key material and public areas.
import { type Infer, UINT16, UINT32 } from '../codec/codec.js';
import { select, sized, struct, tpm2b, union } from '../codec/combinators.js';
import { TPM_ALG } from '../constants/alg.js';
import { TPMA_OBJECT } from './attributes.js';
import { TPM2B_DIGEST } from './basic.js';
import { TPMT_ECC_SCHEME, TPMT_KDF_SCHEME, TPMT_KEYEDHASH_SCHEME, TPMT_RSA_SCHEME, TPMT_SYM_DEF_OBJECT } from './schemes.js';

/** MAX_RSA_KEY_BYTES: a 4096-bit modulus. */
export const TPM2B_PUBLIC_KEY_RSA = tpm2b('TPM2B_PUBLIC_KEY_RSA', 512);
export const TPM2B_PRIVATE_KEY_RSA = tpm2b('TPM2B_PRIVATE_KEY_RSA', 256);
/** MAX_ECC_KEY_BYTES: large enough for BN P638 (80 bytes). */
export const TPM2B_ECC_PARAMETER = tpm2b('TPM2B_ECC_PARAMETER', 128);
export const TPM2B_SENSITIVE_DATA = tpm2b('TPM2B_SENSITIVE_DATA', 256);
export const TPM2B_SYM_KEY = tpm2b('TPM2B_SYM_KEY', 32);

/** TPMS_ECC_POINT (Part 2 §11.2.5.2). */
export const TPMS_ECC_POINT = struct('TPMS_ECC_POINT', { x: TPM2B_ECC_PARAMETER, y: TPM2B_ECC_PARAMETER });
export type TpmsEccPoint = Infer<typeof TPMS_ECC_POINT>;
export const TPM2B_ECC_POINT = sized('TPM2B_ECC_POINT', TPMS_ECC_POINT);

/** TPMS_KEYEDHASH_PARMS (Part 2 §12.2.3.3). */
export const TPMS_KEYEDHASH_PARMS = struct('TPMS_KEYEDHASH_PARMS', { scheme: TPMT_KEYEDHASH_SCHEME });
/** TPMS_SYMCIPHER_PARMS (Part 2 §11.1.9). */
export const TPMS_SYMCIPHER_PARMS = struct('TPMS_SYMCIPHER_PARMS', { sym: TPMT_SYM_DEF_OBJECT });
/** TPMS_RSA_PARMS (Part 2 §12.2.3.5); exponent 0 means the default 65537. */
export const TPMS_RSA_PARMS = struct('TPMS_RSA_PARMS', {
  symmetric: TPMT_SYM_DEF_OBJECT,
  scheme: TPMT_RSA_SCHEME,
  keyBits: UINT16,
  exponent: UINT32,
});
export type TpmsRsaParms = Infer<typeof TPMS_RSA_PARMS>;
/** TPMS_ECC_PARMS (Part 2 §12.2.3.6). */
export const TPMS_ECC_PARMS = struct('TPMS_ECC_PARMS', {
  symmetric: TPMT_SYM_DEF_OBJECT,
  scheme: TPMT_ECC_SCHEME,
  curveID: UINT16,
  kdf: TPMT_KDF_SCHEME,
});
export type TpmsEccParms = Infer<typeof TPMS_ECC_PARMS>;

/** TPMU_PUBLIC_PARMS (Part 2 §12.2.3.7), selected by TPMT_PUBLIC.type. */
export const TPMU_PUBLIC_PARMS = union('TPMU_PUBLIC_PARMS', {
  [TPM_ALG.KEYEDHASH]: TPMS_KEYEDHASH_PARMS,
  [TPM_ALG.SYMCIPHER]: TPMS_SYMCIPHER_PARMS,
  [TPM_ALG.RSA]: TPMS_RSA_PARMS,
  [TPM_ALG.ECC]: TPMS_ECC_PARMS,
});
/** TPMU_PUBLIC_ID (Part 2 §12.2.3.2): the public key or the unique identifier. */
export const TPMU_PUBLIC_ID = union('TPMU_PUBLIC_ID', {
  [TPM_ALG.KEYEDHASH]: TPM2B_DIGEST,
  [TPM_ALG.SYMCIPHER]: TPM2B_DIGEST,
  [TPM_ALG.RSA]: TPM2B_PUBLIC_KEY_RSA,
  [TPM_ALG.ECC]: TPMS_ECC_POINT,
});

/** TPMT_PUBLIC (Part 2 §12.2.4): an object's public area; its Name is nameAlg || H_nameAlg(this). */
export const TPMT_PUBLIC = struct('TPMT_PUBLIC', {
  type: UINT16,
  nameAlg: UINT16,
  objectAttributes: TPMA_OBJECT,
  authPolicy: TPM2B_DIGEST,
  parameters: select('type', TPMU_PUBLIC_PARMS),
  unique: select('type', TPMU_PUBLIC_ID),
});
export type TpmtPublic = Infer<typeof TPMT_PUBLIC>;
export const TPM2B_PUBLIC = sized('TPM2B_PUBLIC', TPMT_PUBLIC);

/** An RSA public area, narrowed. */
export type TpmtPublicRsa = TpmtPublic & { parameters: TpmsRsaParms; unique: Uint8Array };
/** An ECC public area, narrowed. */
export type TpmtPublicEcc = TpmtPublic & { parameters: TpmsEccParms; unique: TpmsEccPoint };

export function isRsaPublic(p: TpmtPublic): p is TpmtPublicRsa {
  return p.type === TPM_ALG.RSA;
}

export function isEccPublic(p: TpmtPublic): p is TpmtPublicEcc {
  return p.type === TPM_ALG.ECC;
}

/** TPMS_SENSITIVE_CREATE / TPM2B_SENSITIVE_CREATE (Part 2 §11.1.15-16). */
export const TPMS_SENSITIVE_CREATE = struct('TPMS_SENSITIVE_CREATE', {
  userAuth: TPM2B_DIGEST,
  data: TPM2B_SENSITIVE_DATA,
});
export const TPM2B_SENSITIVE_CREATE = sized('TPM2B_SENSITIVE_CREATE', TPMS_SENSITIVE_CREATE);

/** TPM2B_PRIVATE (Part 2 §12.3.7): an opaque wrapped private area, returned by Create and given to Load. */
export const TPM2B_PRIVATE = tpm2b('TPM2B_PRIVATE', 2048);
/** TPM2B_ID_OBJECT (Part 2 §12.4.3): MakeCredential's credentialBlob (integrityHMAC + encIdentity). */
export const TPM2B_ID_OBJECT = tpm2b('TPM2B_ID_OBJECT', 2 + 64 + 2 + 64);
/** TPM2B_ENCRYPTED_SECRET (Part 2 §11.4.33): a seed encrypted to a key (RSA-OAEP ciphertext or ECC point). */
export const TPM2B_ENCRYPTED_SECRET = tpm2b('TPM2B_ENCRYPTED_SECRET', 512);
