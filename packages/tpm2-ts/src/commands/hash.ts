// Part 3 §15: Symmetric primitives (TPM2_Hash).
import { UINT16, UINT32 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_DIGEST, TPM2B_MAX_BUFFER, TPMT_TK_HASHCHECK } from '../structures/basic.js';

/**
 * TPM2_Hash (Part 3 §15.4): hashes up to MAX_DIGEST_BUFFER bytes; with a
 * hierarchy other than TPM_RH_NULL the ticket proves the data did not start
 * with TPM_GENERATED_VALUE (so a restricted key may sign its digest).
 */
export const Hash = command({
  name: 'TPM2_Hash',
  code: TPM_CC.Hash,
  handles: {},
  parameters: { data: TPM2B_MAX_BUFFER, hashAlg: UINT16, hierarchy: UINT32 },
  responseHandles: [],
  response: { outHash: TPM2B_DIGEST, validation: TPMT_TK_HASHCHECK },
});
