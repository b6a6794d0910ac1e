// Part 3 §23: Enhanced authorization (EA) commands.
import { INT32, UINT32 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_DIGEST, TPM2B_NONCE, TPM2B_TIMEOUT, TPML_PCR_SELECTION, TPMT_TK_AUTH } from '../structures/basic.js';

/**
 * TPM2_PolicySecret (Part 3 §23.4): extends policySession's digest with
 * PolicySecret || authName || policyRef once authHandle's authorization (its
 * authValue via password/HMAC) has been proven. The EK's policy is
 * PolicySecret(TPM_RH_ENDORSEMENT).
 */
export const PolicySecret = command({
  name: 'TPM2_PolicySecret',
  code: TPM_CC.PolicySecret,
  handles: { authHandle: 'auth', policySession: 'none' },
  parameters: { nonceTPM: TPM2B_NONCE, cpHashA: TPM2B_DIGEST, policyRef: TPM2B_NONCE, expiration: INT32 },
  responseHandles: [],
  response: { timeout: TPM2B_TIMEOUT, policyTicket: TPMT_TK_AUTH },
});

/**
 * TPM2_PolicyPCR (Part 3 §23.7): binds the policy to the selected PCRs'
 * current values; pcrDigest, if not empty, must equal their digest.
 */
export const PolicyPCR = command({
  name: 'TPM2_PolicyPCR',
  code: TPM_CC.PolicyPCR,
  handles: { policySession: 'none' },
  parameters: { pcrDigest: TPM2B_DIGEST, pcrs: TPML_PCR_SELECTION },
  responseHandles: [],
  response: {},
});

/** TPM2_PolicyAuthValue (Part 3 §23.17): the object's authValue must also be proven (HMAC keyed with it). */
export const PolicyAuthValue = command({
  name: 'TPM2_PolicyAuthValue',
  code: TPM_CC.PolicyAuthValue,
  handles: { policySession: 'none' },
  parameters: {},
  responseHandles: [],
  response: {},
});

/** TPM2_PolicyCommandCode (Part 3 §23.11): limits the policy to one command. */
export const PolicyCommandCode = command({
  name: 'TPM2_PolicyCommandCode',
  code: TPM_CC.PolicyCommandCode,
  handles: { policySession: 'none' },
  parameters: { code: UINT32 },
  responseHandles: [],
  response: {},
});

/** TPM2_PolicyGetDigest (Part 3 §23.19): the session's current policyDigest (the point of a trial session). */
export const PolicyGetDigest = command({
  name: 'TPM2_PolicyGetDigest',
  code: TPM_CC.PolicyGetDigest,
  handles: { policySession: 'none' },
  parameters: {},
  responseHandles: [],
  response: { policyDigest: TPM2B_DIGEST },
});
