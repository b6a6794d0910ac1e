// Part 2 §11.2.2-11.3: signatures.
import { EMPTY, type Infer, UINT16 } from '../codec/codec.js';
import { select, struct, union } from '../codec/combinators.js';
import { TPM_ALG } from '../constants/alg.js';
import { TPMT_HA } from './basic.js';
import { TPM2B_ECC_PARAMETER, TPM2B_PUBLIC_KEY_RSA } from './public.js';

/** TPMS_SIGNATURE_RSA (Part 2 §11.3.1): the hash used and the raw signature. */
export const TPMS_SIGNATURE_RSA = struct('TPMS_SIGNATURE_RSA', { hash: UINT16, sig: TPM2B_PUBLIC_KEY_RSA });
export type TpmsSignatureRsa = Infer<typeof TPMS_SIGNATURE_RSA>;
/** TPMS_SIGNATURE_ECC (Part 2 §11.3.2): r and s as unsigned big-endian integers. */
export const TPMS_SIGNATURE_ECC = struct('TPMS_SIGNATURE_ECC', {
  hash: UINT16,
  signatureR: TPM2B_ECC_PARAMETER,
  signatureS: TPM2B_ECC_PARAMETER,
});
export type TpmsSignatureEcc = Infer<typeof TPMS_SIGNATURE_ECC>;

/** TPMU_SIGNATURE (Part 2 §11.3.3). */
export const TPMU_SIGNATURE = union('TPMU_SIGNATURE', {
  [TPM_ALG.RSASSA]: TPMS_SIGNATURE_RSA,
  [TPM_ALG.RSAPSS]: TPMS_SIGNATURE_RSA,
  [TPM_ALG.ECDSA]: TPMS_SIGNATURE_ECC,
  [TPM_ALG.ECDAA]: TPMS_SIGNATURE_ECC,
  [TPM_ALG.SM2]: TPMS_SIGNATURE_ECC,
  [TPM_ALG.ECSCHNORR]: TPMS_SIGNATURE_ECC,
  [TPM_ALG.HMAC]: TPMT_HA,
  [TPM_ALG.NULL]: EMPTY,
});
/** TPMT_SIGNATURE (Part 2 §11.3.4). */
export const TPMT_SIGNATURE = struct('TPMT_SIGNATURE', {
  sigAlg: UINT16,
  signature: select('sigAlg', TPMU_SIGNATURE),
});
export type TpmtSignature = Infer<typeof TPMT_SIGNATURE>;
