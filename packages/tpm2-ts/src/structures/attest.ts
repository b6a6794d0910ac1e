// Part 2 §10.11-10.12: attestation structures, what Quote/Certify sign.
import { type Infer, TPMI_YES_NO, UINT16, UINT32, UINT64 } from '../codec/codec.js';
import { select, struct, tpm2b, union } from '../codec/combinators.js';
import { TPM_ST } from '../constants/st.js';
import { TPM2B_DATA, TPM2B_DIGEST, TPM2B_MAX_NV_BUFFER, TPM2B_NAME, TPML_PCR_SELECTION } from './basic.js';

/**
 * TPMS_CLOCK_INFO (Part 2 §10.11.1). `resetCount` increments on every
 * TPM Reset (reboot), `restartCount` on TPM Restart/Resume; `clock` only
 * moves forward while powered. A verifier uses them to detect reboots and
 * rollback.
 */
export const TPMS_CLOCK_INFO = struct('TPMS_CLOCK_INFO', {
  clock: UINT64,
  resetCount: UINT32,
  restartCount: UINT32,
  safe: TPMI_YES_NO,
});
export type TpmsClockInfo = Infer<typeof TPMS_CLOCK_INFO>;

export const TPMS_TIME_INFO = struct('TPMS_TIME_INFO', { time: UINT64, clockInfo: TPMS_CLOCK_INFO });
export const TPMS_TIME_ATTEST_INFO = struct('TPMS_TIME_ATTEST_INFO', { time: TPMS_TIME_INFO, firmwareVersion: UINT64 });
export const TPMS_CERTIFY_INFO = struct('TPMS_CERTIFY_INFO', { name: TPM2B_NAME, qualifiedName: TPM2B_NAME });
export type TpmsCertifyInfo = Infer<typeof TPMS_CERTIFY_INFO>;
/** TPMS_QUOTE_INFO (Part 2 §10.12.4): the PCRs quoted and the digest of their concatenated values. */
export const TPMS_QUOTE_INFO = struct('TPMS_QUOTE_INFO', { pcrSelect: TPML_PCR_SELECTION, pcrDigest: TPM2B_DIGEST });
export type TpmsQuoteInfo = Infer<typeof TPMS_QUOTE_INFO>;
export const TPMS_COMMAND_AUDIT_INFO = struct('TPMS_COMMAND_AUDIT_INFO', {
  auditCounter: UINT64,
  digestAlg: UINT16,
  auditDigest: TPM2B_DIGEST,
  commandDigest: TPM2B_DIGEST,
});
export const TPMS_SESSION_AUDIT_INFO = struct('TPMS_SESSION_AUDIT_INFO', { exclusiveSession: TPMI_YES_NO, sessionDigest: TPM2B_DIGEST });
export const TPMS_CREATION_INFO = struct('TPMS_CREATION_INFO', { objectName: TPM2B_NAME, creationHash: TPM2B_DIGEST });
export const TPMS_NV_CERTIFY_INFO = struct('TPMS_NV_CERTIFY_INFO', { indexName: TPM2B_NAME, offset: UINT16, nvContents: TPM2B_MAX_NV_BUFFER });
export const TPMS_NV_DIGEST_CERTIFY_INFO = struct('TPMS_NV_DIGEST_CERTIFY_INFO', { indexName: TPM2B_NAME, nvDigest: TPM2B_DIGEST });

/** TPMU_ATTEST (Part 2 §10.12.11), selected by TPMS_ATTEST.type. */
export const TPMU_ATTEST = union('TPMU_ATTEST', {
  [TPM_ST.ATTEST_CERTIFY]: TPMS_CERTIFY_INFO,
  [TPM_ST.ATTEST_CREATION]: TPMS_CREATION_INFO,
  [TPM_ST.ATTEST_QUOTE]: TPMS_QUOTE_INFO,
  [TPM_ST.ATTEST_COMMAND_AUDIT]: TPMS_COMMAND_AUDIT_INFO,
  [TPM_ST.ATTEST_SESSION_AUDIT]: TPMS_SESSION_AUDIT_INFO,
  [TPM_ST.ATTEST_TIME]: TPMS_TIME_ATTEST_INFO,
  [TPM_ST.ATTEST_NV]: TPMS_NV_CERTIFY_INFO,
  [TPM_ST.ATTEST_NV_DIGEST]: TPMS_NV_DIGEST_CERTIFY_INFO,
});

/**
 * TPMS_ATTEST (Part 2 §10.12.12): what the TPM signs. `magic` must be
 * TPM_GENERATED_VALUE — the TPM refuses to sign external data starting with
 * it, so a valid signature over a structure with this magic proves the TPM
 * produced it. `extraData` carries the verifier's nonce.
 */
export const TPMS_ATTEST = struct('TPMS_ATTEST', {
  magic: UINT32,
  type: UINT16,
  qualifiedSigner: TPM2B_NAME,
  extraData: TPM2B_DATA,
  clockInfo: TPMS_CLOCK_INFO,
  firmwareVersion: UINT64,
  attested: select('type', TPMU_ATTEST),
});
export type TpmsAttest = Infer<typeof TPMS_ATTEST>;
/** A quote attestation, narrowed. */
export type TpmsAttestQuote = TpmsAttest & { attested: TpmsQuoteInfo };
/**
 * TPM2B_ATTEST (Part 2 §10.12.13) is a byte buffer in the spec, not a
 * structure: the exact bytes the TPM signed. Keep them as bytes and decode
 * with `unmarshal(TPMS_ATTEST, bytes)` so signature checks use what was signed.
 */
export const TPM2B_ATTEST = tpm2b('TPM2B_ATTEST', 4096);
