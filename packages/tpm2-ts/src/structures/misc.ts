// Part 2 §10.10, §13, §14, §15: capabilities, NV public areas, contexts, creation data.
import { type Infer, UINT16, UINT32, UINT64 } from '../codec/codec.js';
import { select, sized, struct, tpm2b, union } from '../codec/combinators.js';
import { TPM_CAP } from '../constants/st.js';
import { TPMA_LOCALITY, TPMA_NV, TPMA_SESSION } from './attributes.js';
import {
  TPM2B_AUTH,
  TPM2B_DATA,
  TPM2B_DIGEST,
  TPM2B_NAME,
  TPM2B_NONCE,
  TPML_ACT_DATA,
  TPML_ALG_PROPERTY,
  TPML_CC,
  TPML_ECC_CURVE,
  TPML_HANDLE,
  TPML_PCR_SELECTION,
  TPML_TAGGED_PCR_PROPERTY,
  TPML_TAGGED_POLICY,
  TPML_TAGGED_TPM_PROPERTY,
} from './basic.js';

/** TPMU_CAPABILITIES / TPMS_CAPABILITY_DATA (Part 2 §10.10.1-2). */
export const TPMU_CAPABILITIES = union('TPMU_CAPABILITIES', {
  [TPM_CAP.ALGS]: TPML_ALG_PROPERTY,
  [TPM_CAP.HANDLES]: TPML_HANDLE,
  [TPM_CAP.COMMANDS]: TPML_CC,
  [TPM_CAP.PP_COMMANDS]: TPML_CC,
  [TPM_CAP.AUDIT_COMMANDS]: TPML_CC,
  [TPM_CAP.PCRS]: TPML_PCR_SELECTION,
  [TPM_CAP.TPM_PROPERTIES]: TPML_TAGGED_TPM_PROPERTY,
  [TPM_CAP.PCR_PROPERTIES]: TPML_TAGGED_PCR_PROPERTY,
  [TPM_CAP.ECC_CURVES]: TPML_ECC_CURVE,
  [TPM_CAP.AUTH_POLICIES]: TPML_TAGGED_POLICY,
  [TPM_CAP.ACT]: TPML_ACT_DATA,
});
export const TPMS_CAPABILITY_DATA = struct('TPMS_CAPABILITY_DATA', {
  capability: UINT32,
  data: select('capability', TPMU_CAPABILITIES),
});
export type TpmsCapabilityData = Infer<typeof TPMS_CAPABILITY_DATA>;

/** TPMS_NV_PUBLIC / TPM2B_NV_PUBLIC (Part 2 §13.5-6); an NV index's Name is nameAlg || H(TPMS_NV_PUBLIC). */
export const TPMS_NV_PUBLIC = struct('TPMS_NV_PUBLIC', {
  nvIndex: UINT32,
  nameAlg: UINT16,
  attributes: TPMA_NV,
  authPolicy: TPM2B_DIGEST,
  dataSize: UINT16,
});
export type TpmsNvPublic = Infer<typeof TPMS_NV_PUBLIC>;
export const TPM2B_NV_PUBLIC = sized('TPM2B_NV_PUBLIC', TPMS_NV_PUBLIC);

/** TPMS_CONTEXT (Part 2 §14.5): a saved object or session, opaque to us except for its handle and hierarchy. */
export const TPM2B_CONTEXT_DATA = tpm2b('TPM2B_CONTEXT_DATA', 8192);
export const TPMS_CONTEXT = struct('TPMS_CONTEXT', {
  sequence: UINT64,
  savedHandle: UINT32,
  hierarchy: UINT32,
  contextBlob: TPM2B_CONTEXT_DATA,
});
export type TpmsContext = Infer<typeof TPMS_CONTEXT>;

/** TPMS_CREATION_DATA / TPM2B_CREATION_DATA (Part 2 §15.1-2). */
export const TPMS_CREATION_DATA = struct('TPMS_CREATION_DATA', {
  pcrSelect: TPML_PCR_SELECTION,
  pcrDigest: TPM2B_DIGEST,
  locality: TPMA_LOCALITY,
  parentNameAlg: UINT16,
  parentName: TPM2B_NAME,
  parentQualifiedName: TPM2B_NAME,
  outsideInfo: TPM2B_DATA,
});
export const TPM2B_CREATION_DATA = sized('TPM2B_CREATION_DATA', TPMS_CREATION_DATA);

/** TPMS_AUTH_COMMAND (Part 2 §10.13.2): one session's entry in a command's authorization area. */
export const TPMS_AUTH_COMMAND = struct('TPMS_AUTH_COMMAND', {
  sessionHandle: UINT32,
  nonce: TPM2B_NONCE,
  sessionAttributes: TPMA_SESSION,
  hmac: TPM2B_AUTH,
});
export type TpmsAuthCommand = Infer<typeof TPMS_AUTH_COMMAND>;
/** TPMS_AUTH_RESPONSE (Part 2 §10.13.3). */
export const TPMS_AUTH_RESPONSE = struct('TPMS_AUTH_RESPONSE', {
  nonce: TPM2B_NONCE,
  sessionAttributes: TPMA_SESSION,
  hmac: TPM2B_AUTH,
});
export type TpmsAuthResponse = Infer<typeof TPMS_AUTH_RESPONSE>;
