// Part 3 §11: Session commands.
import { UINT8, UINT16 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_NONCE } from '../structures/basic.js';
import { TPM2B_ENCRYPTED_SECRET } from '../structures/public.js';
import { TPMT_SYM_DEF } from '../structures/schemes.js';

/**
 * TPM2_StartAuthSession (Part 3 §11.1). tpmKey (TPM_RH_NULL for an unsalted
 * session) decrypts `encryptedSalt`; bind (TPM_RH_NULL for unbound) lends
 * its authValue to the session key. sessionType is a TPM_SE value.
 */
export const StartAuthSession = command({
  name: 'TPM2_StartAuthSession',
  code: TPM_CC.StartAuthSession,
  handles: { tpmKey: 'none', bind: 'none' },
  parameters: {
    nonceCaller: TPM2B_NONCE,
    encryptedSalt: TPM2B_ENCRYPTED_SECRET,
    sessionType: UINT8,
    symmetric: TPMT_SYM_DEF,
    authHash: UINT16,
  },
  responseHandles: ['sessionHandle'],
  response: { nonceTPM: TPM2B_NONCE },
});

/** TPM2_PolicyRestart (Part 3 §11.2): resets a policy session's policyDigest and assertions. */
export const PolicyRestart = command({
  name: 'TPM2_PolicyRestart',
  code: TPM_CC.PolicyRestart,
  handles: { sessionHandle: 'none' },
  parameters: {},
  responseHandles: [],
  response: {},
});
