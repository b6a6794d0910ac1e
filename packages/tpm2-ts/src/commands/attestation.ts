// Part 3 §18: Attestation commands.
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_DATA, TPML_PCR_SELECTION } from '../structures/basic.js';
import { TPM2B_ATTEST } from '../structures/attest.js';
import { TPMT_SIG_SCHEME } from '../structures/schemes.js';
import { TPMT_SIGNATURE } from '../structures/signature.js';

/**
 * TPM2_Quote (Part 3 §18.4): the key at signHandle signs a TPMS_ATTEST of
 * type TPM_ST_ATTEST_QUOTE over the selected PCRs' digest, with
 * qualifyingData (the verifier's nonce) as extraData.
 */
export const Quote = command({
  name: 'TPM2_Quote',
  code: TPM_CC.Quote,
  handles: { signHandle: 'auth' },
  parameters: { qualifyingData: TPM2B_DATA, inScheme: TPMT_SIG_SCHEME, PCRselect: TPML_PCR_SELECTION },
  responseHandles: [],
  response: { quoted: TPM2B_ATTEST, signature: TPMT_SIGNATURE },
});

/** TPM2_Certify (Part 3 §18.2): signHandle attests that objectHandle is loaded in this TPM. */
export const Certify = command({
  name: 'TPM2_Certify',
  code: TPM_CC.Certify,
  handles: { objectHandle: 'auth', signHandle: 'auth' },
  parameters: { qualifyingData: TPM2B_DATA, inScheme: TPMT_SIG_SCHEME },
  responseHandles: [],
  response: { certifyInfo: TPM2B_ATTEST, signature: TPMT_SIGNATURE },
});
