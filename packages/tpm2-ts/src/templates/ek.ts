import { TPM_ALG, TPM_ECC } from '../constants/alg.js';
import type { TpmtPublic } from '../structures/public.js';

/**
 * EK templates and certificate NV indices from the TCG EK Credential Profile
 * for TPM Family 2.0 (v2.5, §B.3 "Template L-1/L-2", §B.4 high range, §2.2.1.5
 * NV indices). A TPM re-creates the same EK from the same template (primary
 * keys derive from the endorsement seed), which is how the EK in the
 * certificate is found again.
 */
export type EkKind = 'rsa' | 'ecc' | 'ecc-p384';

/** PolicyA_SHA256 = PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256 (EK profile §B.6.1): the low-range EK authPolicy. */
export const EK_POLICY_A_SHA256 = Uint8Array.from(Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex'));

/**
 * PolicyB_SHA384 = PolicyOR(PolicyA_SHA384, PolicyC_SHA384) (EK profile
 * §B.6.2): the high-range P-384 EK authPolicy. High-range EKs also set
 * userWithAuth, so an empty password authorizes them without this policy.
 */
export const EK_POLICY_B_SHA384 = Uint8Array.from(
  Buffer.from('b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12', 'hex'),
);

/** fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted, decrypt (0x000300b2). */
const LOW_RANGE_ATTRIBUTES = { fixedTPM: true, fixedParent: true, sensitiveDataOrigin: true, adminWithPolicy: true, restricted: true, decrypt: true };

/** Template L-1: RSA 2048, SHA-256, AES-128-CFB, 256 zero bytes of unique. */
export const EK_TEMPLATE_RSA_2048: TpmtPublic = {
  type: TPM_ALG.RSA,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: LOW_RANGE_ATTRIBUTES,
  authPolicy: EK_POLICY_A_SHA256,
  parameters: {
    symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB },
    scheme: { scheme: TPM_ALG.NULL, details: null },
    keyBits: 2048,
    exponent: 0,
  },
  unique: new Uint8Array(256),
};

/** Template L-2: ECC NIST P-256, SHA-256, AES-128-CFB, 32 zero bytes each for x and y. */
export const EK_TEMPLATE_ECC_P256: TpmtPublic = {
  type: TPM_ALG.ECC,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: LOW_RANGE_ATTRIBUTES,
  authPolicy: EK_POLICY_A_SHA256,
  parameters: {
    symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB },
    scheme: { scheme: TPM_ALG.NULL, details: null },
    curveID: TPM_ECC.NIST_P256,
    kdf: { scheme: TPM_ALG.NULL, details: null },
  },
  unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
};

/**
 * Template H-3: ECC NIST P-384, SHA-384, AES-256-CFB, empty unique; as
 * swtpm_setup provisions it (with its certificate at 0x01c00016).
 */
export const EK_TEMPLATE_ECC_P384: TpmtPublic = {
  type: TPM_ALG.ECC,
  nameAlg: TPM_ALG.SHA384,
  objectAttributes: { ...LOW_RANGE_ATTRIBUTES, userWithAuth: true },
  authPolicy: EK_POLICY_B_SHA384,
  parameters: {
    symmetric: { algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB },
    scheme: { scheme: TPM_ALG.NULL, details: null },
    curveID: TPM_ECC.NIST_P384,
    kdf: { scheme: TPM_ALG.NULL, details: null },
  },
  unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
};

/** Where each EK's certificate lives in NV (EK profile §2.2.1.5). */
export const EK_CERT_NV_INDEX: Readonly<Record<EkKind, number>> = {
  rsa: 0x01c00002,
  ecc: 0x01c0000a,
  'ecc-p384': 0x01c00016,
};

export const EK_TEMPLATES: Readonly<Record<EkKind, TpmtPublic>> = {
  rsa: EK_TEMPLATE_RSA_2048,
  ecc: EK_TEMPLATE_ECC_P256,
  'ecc-p384': EK_TEMPLATE_ECC_P384,
};

/** Whether the EK's USER role needs the PolicySecret(TPM_RH_ENDORSEMENT) policy (low range) or takes the empty authValue (high range). */
export function ekNeedsPolicy(kind: EkKind): boolean {
  return !EK_TEMPLATES[kind].objectAttributes.userWithAuth;
}
