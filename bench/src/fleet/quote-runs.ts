/**
 * A quote's TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12) as three consecutive
 * runs of its fields, each a declarative structure run through the
 * @vigil/tpm2-ts codec. A structure marshals as its fields in order, and
 * `attested` of a TPM_ST_ATTEST_QUOTE is a TPMS_QUOTE_INFO (§10.12.11), so
 *
 *   marshal(QUOTE_HEAD) ‖ marshal(QUOTE_FRESH) ‖ marshal(QUOTE_TAIL) = marshal(TPMS_ATTEST)
 *
 * for any quote (test/sim-lean-evidence.test.ts checks it). What changes
 * from one quote to the next is only the middle run — the verifier's nonce
 * and the TPM clock — so a load generator marshals the head once per AK and
 * the tail once per PCR selection and PCR state, not every run per quote.
 */
import { struct, TPM2B_DATA, TPM2B_NAME, TPMS_CLOCK_INFO, TPMS_QUOTE_INFO, UINT16, UINT32, UINT64 } from '@vigil/tpm2-ts';

/** magic, type, qualifiedSigner: fixed for an AK. */
export const QUOTE_HEAD = struct('TPMS_ATTEST[magic..qualifiedSigner]', { magic: UINT32, type: UINT16, qualifiedSigner: TPM2B_NAME });

/** extraData (the nonce), clockInfo: new in every quote. */
export const QUOTE_FRESH = struct('TPMS_ATTEST[extraData..clockInfo]', { extraData: TPM2B_DATA, clockInfo: TPMS_CLOCK_INFO });

/** firmwareVersion, attested (TPMS_QUOTE_INFO): fixed while the selected PCRs do not move. */
export const QUOTE_TAIL = struct('TPMS_ATTEST[firmwareVersion..attested]', { firmwareVersion: UINT64, attested: TPMS_QUOTE_INFO });
