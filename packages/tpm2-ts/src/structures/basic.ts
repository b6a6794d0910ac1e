// Part 2 §10: buffers, digests, PCR selections, tickets and simple lists.
import { EMPTY, fixedBytes, type Infer, UINT16, UINT32 } from '../codec/codec.js';
import { bytes8, list, select, struct, tpm2b, union } from '../codec/combinators.js';
import { HASH_ALGORITHMS, TPM_ALG } from '../constants/alg.js';

/** sizeof(TPMU_HA): the largest digest (SHA-512). */
const MAX_DIGEST = 64;

export const TPM2B_DIGEST = tpm2b('TPM2B_DIGEST', MAX_DIGEST);
/** TPM2B_DATA holds up to sizeof(TPMT_HA) bytes (Part 2 §10.4.3). */
export const TPM2B_DATA = tpm2b('TPM2B_DATA', MAX_DIGEST + 2);
export const TPM2B_NONCE = tpm2b('TPM2B_NONCE', MAX_DIGEST);
export const TPM2B_AUTH = tpm2b('TPM2B_AUTH', MAX_DIGEST);
export const TPM2B_OPERAND = tpm2b('TPM2B_OPERAND', MAX_DIGEST);
export const TPM2B_EVENT = tpm2b('TPM2B_EVENT', 1024);
export const TPM2B_MAX_BUFFER = tpm2b('TPM2B_MAX_BUFFER', 1024);
/** MAX_NV_BUFFER_SIZE is implementation-defined; 4096 bounds every TPM we know of. */
export const TPM2B_MAX_NV_BUFFER = tpm2b('TPM2B_MAX_NV_BUFFER', 4096);
export const TPM2B_TIMEOUT = tpm2b('TPM2B_TIMEOUT', 8);
export const TPM2B_IV = tpm2b('TPM2B_IV', 16);
/** TPM2B_NAME: a TPMU_NAME, i.e. a handle (4 bytes) or nameAlg + digest (2 + 64). */
export const TPM2B_NAME = tpm2b('TPM2B_NAME', MAX_DIGEST + 2);

/** TPMT_HA (Part 2 §10.3.2): a hash algorithm and a digest of exactly its size. */
export const TPMU_HA = union('TPMU_HA', {
  ...Object.fromEntries(HASH_ALGORITHMS.map((h) => [h.alg, fixedBytes(`TPMU_HA(${h.name})`, h.size)])),
  [TPM_ALG.NULL]: EMPTY,
} as Record<number, typeof EMPTY | ReturnType<typeof fixedBytes>>);
export const TPMT_HA = struct('TPMT_HA', {
  hashAlg: UINT16,
  digest: select('hashAlg', TPMU_HA),
});
export type TpmtHa = Infer<typeof TPMT_HA>;

/** TPMS_PCR_SELECTION (Part 2 §10.6.2): a bank and a bitmap of PCRs (bit n of byte n/8 selects PCR n). */
export const TPMS_PCR_SELECTION = struct('TPMS_PCR_SELECTION', {
  hash: UINT16,
  pcrSelect: bytes8('pcrSelect', 4),
});
export type TpmsPcrSelection = Infer<typeof TPMS_PCR_SELECTION>;
/** At most HASH_COUNT (16) banks. */
export const TPML_PCR_SELECTION = list('TPML_PCR_SELECTION', TPMS_PCR_SELECTION, 16, 3);
export type TpmlPcrSelection = Infer<typeof TPML_PCR_SELECTION>;

/** TPML_DIGEST (Part 2 §10.9.3): at most 8 digests (PCR_Read returns up to 8 values per call). */
export const TPML_DIGEST = list('TPML_DIGEST', TPM2B_DIGEST, 8, 2);
/** TPML_DIGEST_VALUES (Part 2 §10.9.4): one digest per bank, for PCR_Extend. */
export const TPML_DIGEST_VALUES = list('TPML_DIGEST_VALUES', TPMT_HA, 16, 2);
export type TpmlDigestValues = Infer<typeof TPML_DIGEST_VALUES>;

/** Tickets (Part 2 §10.7): TPMT_TK_CREATION, _VERIFIED, _AUTH and _HASHCHECK share one shape. */
function ticket(name: string) {
  return struct(name, { tag: UINT16, hierarchy: UINT32, digest: TPM2B_DIGEST });
}
export const TPMT_TK_CREATION = ticket('TPMT_TK_CREATION');
export const TPMT_TK_VERIFIED = ticket('TPMT_TK_VERIFIED');
export const TPMT_TK_AUTH = ticket('TPMT_TK_AUTH');
export const TPMT_TK_HASHCHECK = ticket('TPMT_TK_HASHCHECK');
export type TpmtTicket = Infer<typeof TPMT_TK_CREATION>;

export const TPML_HANDLE = list('TPML_HANDLE', UINT32, 254, 4);
export const TPML_CC = list('TPML_CC', UINT32, 256, 4);
export const TPML_ECC_CURVE = list('TPML_ECC_CURVE', UINT16, 256, 2);
export const TPMS_ALG_PROPERTY = struct('TPMS_ALG_PROPERTY', { alg: UINT16, algProperties: UINT32 });
export const TPML_ALG_PROPERTY = list('TPML_ALG_PROPERTY', TPMS_ALG_PROPERTY, 256, 6);
export const TPMS_TAGGED_PROPERTY = struct('TPMS_TAGGED_PROPERTY', { property: UINT32, value: UINT32 });
export const TPML_TAGGED_TPM_PROPERTY = list('TPML_TAGGED_TPM_PROPERTY', TPMS_TAGGED_PROPERTY, 256, 8);
export const TPMS_TAGGED_PCR_SELECT = struct('TPMS_TAGGED_PCR_SELECT', { tag: UINT32, pcrSelect: bytes8('pcrSelect', 4) });
export const TPML_TAGGED_PCR_PROPERTY = list('TPML_TAGGED_PCR_PROPERTY', TPMS_TAGGED_PCR_SELECT, 256, 5);
export const TPMS_TAGGED_POLICY = struct('TPMS_TAGGED_POLICY', { handle: UINT32, policyHash: TPMT_HA });
export const TPML_TAGGED_POLICY = list('TPML_TAGGED_POLICY', TPMS_TAGGED_POLICY, 64, 6);
export const TPMS_ACT_DATA = struct('TPMS_ACT_DATA', { handle: UINT32, timeout: UINT32, attributes: UINT32 });
export const TPML_ACT_DATA = list('TPML_ACT_DATA', TPMS_ACT_DATA, 64, 12);
