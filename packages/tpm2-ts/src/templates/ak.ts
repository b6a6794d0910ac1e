import { TPM_ALG, TPM_ECC } from '../constants/alg.js';
import type { TpmtPublic } from '../structures/public.js';

export type AkKind = 'rsa' | 'ecc';

/**
 * An attestation key: fixedTPM, fixedParent, sensitiveDataOrigin,
 * userWithAuth, restricted, sign (0x00050072). Restricted signing keys only
 * sign digests the TPM produced itself or ticketed (Part 1 §25.2.3), so a
 * signature over a TPMS_ATTEST proves the TPM made it.
 */
const AK_ATTRIBUTES = { fixedTPM: true, fixedParent: true, sensitiveDataOrigin: true, userWithAuth: true, restricted: true, sign: true };

/** RSA-2048 AK, RSASSA-PKCS1-v1_5 with SHA-256. */
export const AK_TEMPLATE_RSA: TpmtPublic = {
  type: TPM_ALG.RSA,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: AK_ATTRIBUTES,
  authPolicy: new Uint8Array(0),
  parameters: {
    symmetric: { algorithm: TPM_ALG.NULL, keyBits: null, mode: null },
    scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA256 } },
    keyBits: 2048,
    exponent: 0,
  },
  unique: new Uint8Array(0),
};

/** ECC NIST P-256 AK, ECDSA with SHA-256. */
export const AK_TEMPLATE_ECC: TpmtPublic = {
  type: TPM_ALG.ECC,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: AK_ATTRIBUTES,
  authPolicy: new Uint8Array(0),
  parameters: {
    symmetric: { algorithm: TPM_ALG.NULL, keyBits: null, mode: null },
    scheme: { scheme: TPM_ALG.ECDSA, details: { hashAlg: TPM_ALG.SHA256 } },
    curveID: TPM_ECC.NIST_P256,
    kdf: { scheme: TPM_ALG.NULL, details: null },
  },
  unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
};

export const AK_TEMPLATES: Readonly<Record<AkKind, TpmtPublic>> = { rsa: AK_TEMPLATE_RSA, ecc: AK_TEMPLATE_ECC };
