// Part 2 §11.1-11.2: symmetric definitions and asymmetric/keyed-hash/signature/KDF schemes.
import { EMPTY, type Infer, UINT16 } from '../codec/codec.js';
import { select, struct, union } from '../codec/combinators.js';
import { TPM_ALG } from '../constants/alg.js';

/** TPMS_SCHEME_HASH (Part 2 §11.1.17): the details of most schemes are just a hash algorithm. */
export const TPMS_SCHEME_HASH = struct('TPMS_SCHEME_HASH', { hashAlg: UINT16 });
/** TPMS_SCHEME_ECDAA (Part 2 §11.1.18). */
export const TPMS_SCHEME_ECDAA = struct('TPMS_SCHEME_ECDAA', { hashAlg: UINT16, count: UINT16 });
/** TPMS_SCHEME_XOR (Part 2 §11.1.20). */
export const TPMS_SCHEME_XOR = struct('TPMS_SCHEME_XOR', { hashAlg: UINT16, kdf: UINT16 });

const symAlgs = [TPM_ALG.AES, TPM_ALG.SM4, TPM_ALG.CAMELLIA, TPM_ALG.TDES] as const;

/** TPMU_SYM_KEY_BITS (Part 2 §11.1.3): key size for block ciphers, hash for XOR. */
export const TPMU_SYM_KEY_BITS = union('TPMU_SYM_KEY_BITS', {
  ...Object.fromEntries(symAlgs.map((a) => [a, UINT16])),
  [TPM_ALG.XOR]: UINT16,
  [TPM_ALG.NULL]: EMPTY,
} as Record<number, typeof UINT16 | typeof EMPTY>);
/** TPMU_SYM_MODE (Part 2 §11.1.4): block cipher mode; nothing for XOR and NULL. */
export const TPMU_SYM_MODE = union('TPMU_SYM_MODE', {
  ...Object.fromEntries(symAlgs.map((a) => [a, UINT16])),
  [TPM_ALG.XOR]: EMPTY,
  [TPM_ALG.NULL]: EMPTY,
} as Record<number, typeof UINT16 | typeof EMPTY>);

/** TPMT_SYM_DEF (Part 2 §11.1.6), used for session parameter encryption. */
export const TPMT_SYM_DEF = struct('TPMT_SYM_DEF', {
  algorithm: UINT16,
  keyBits: select('algorithm', TPMU_SYM_KEY_BITS),
  mode: select('algorithm', TPMU_SYM_MODE),
});
export type TpmtSymDef = Infer<typeof TPMT_SYM_DEF>;
/** TPMT_SYM_DEF_OBJECT (Part 2 §11.1.7): the same shape, for storage keys' inner wrapping. */
export const TPMT_SYM_DEF_OBJECT = struct('TPMT_SYM_DEF_OBJECT', TPMT_SYM_DEF.fields);
export type TpmtSymDefObject = Infer<typeof TPMT_SYM_DEF_OBJECT>;

/** TPMU_SCHEME_KEYEDHASH / TPMT_KEYEDHASH_SCHEME (Part 2 §11.1.22-23). */
export const TPMU_SCHEME_KEYEDHASH = union('TPMU_SCHEME_KEYEDHASH', {
  [TPM_ALG.HMAC]: TPMS_SCHEME_HASH,
  [TPM_ALG.XOR]: TPMS_SCHEME_XOR,
  [TPM_ALG.NULL]: EMPTY,
});
export const TPMT_KEYEDHASH_SCHEME = struct('TPMT_KEYEDHASH_SCHEME', {
  scheme: UINT16,
  details: select('scheme', TPMU_SCHEME_KEYEDHASH),
});

/** TPMU_SIG_SCHEME / TPMT_SIG_SCHEME (Part 2 §11.2.1.4-5). */
export const TPMU_SIG_SCHEME = union('TPMU_SIG_SCHEME', {
  [TPM_ALG.RSASSA]: TPMS_SCHEME_HASH,
  [TPM_ALG.RSAPSS]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECDSA]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECDAA]: TPMS_SCHEME_ECDAA,
  [TPM_ALG.SM2]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECSCHNORR]: TPMS_SCHEME_HASH,
  [TPM_ALG.HMAC]: TPMS_SCHEME_HASH,
  [TPM_ALG.NULL]: EMPTY,
});
export const TPMT_SIG_SCHEME = struct('TPMT_SIG_SCHEME', {
  scheme: UINT16,
  details: select('scheme', TPMU_SIG_SCHEME),
});
export type TpmtSigScheme = Infer<typeof TPMT_SIG_SCHEME>;

/** TPMU_KDF_SCHEME / TPMT_KDF_SCHEME (Part 2 §11.2.3.2-3). */
export const TPMU_KDF_SCHEME = union('TPMU_KDF_SCHEME', {
  [TPM_ALG.MGF1]: TPMS_SCHEME_HASH,
  [TPM_ALG.KDF1_SP800_56A]: TPMS_SCHEME_HASH,
  [TPM_ALG.KDF2]: TPMS_SCHEME_HASH,
  [TPM_ALG.KDF1_SP800_108]: TPMS_SCHEME_HASH,
  [TPM_ALG.NULL]: EMPTY,
});
export const TPMT_KDF_SCHEME = struct('TPMT_KDF_SCHEME', {
  scheme: UINT16,
  details: select('scheme', TPMU_KDF_SCHEME),
});

/** TPMU_ASYM_SCHEME (Part 2 §11.2.3.5): shared by TPMT_RSA_SCHEME, TPMT_ECC_SCHEME and TPMT_RSA_DECRYPT. */
export const TPMU_ASYM_SCHEME = union('TPMU_ASYM_SCHEME', {
  [TPM_ALG.ECDH]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECMQV]: TPMS_SCHEME_HASH,
  [TPM_ALG.RSASSA]: TPMS_SCHEME_HASH,
  [TPM_ALG.RSAPSS]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECDSA]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECDAA]: TPMS_SCHEME_ECDAA,
  [TPM_ALG.SM2]: TPMS_SCHEME_HASH,
  [TPM_ALG.ECSCHNORR]: TPMS_SCHEME_HASH,
  [TPM_ALG.RSAES]: EMPTY,
  [TPM_ALG.OAEP]: TPMS_SCHEME_HASH,
  [TPM_ALG.NULL]: EMPTY,
});
export const TPMT_RSA_SCHEME = struct('TPMT_RSA_SCHEME', { scheme: UINT16, details: select('scheme', TPMU_ASYM_SCHEME) });
export const TPMT_RSA_DECRYPT = struct('TPMT_RSA_DECRYPT', { scheme: UINT16, details: select('scheme', TPMU_ASYM_SCHEME) });
export const TPMT_ECC_SCHEME = struct('TPMT_ECC_SCHEME', { scheme: UINT16, details: select('scheme', TPMU_ASYM_SCHEME) });
