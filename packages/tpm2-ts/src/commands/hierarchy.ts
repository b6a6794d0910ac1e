// Part 3 §24: Hierarchy commands.
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_DATA, TPM2B_DIGEST, TPM2B_NAME, TPML_PCR_SELECTION, TPMT_TK_CREATION } from '../structures/basic.js';
import { TPM2B_CREATION_DATA } from '../structures/misc.js';
import { TPM2B_PUBLIC, TPM2B_SENSITIVE_CREATE } from '../structures/public.js';

/**
 * TPM2_CreatePrimary (Part 3 §24.1): a primary object derived from the
 * hierarchy's seed and the template, so the same template always yields the
 * same key (that is how an EK is re-created to match its certificate).
 */
export const CreatePrimary = command({
  name: 'TPM2_CreatePrimary',
  code: TPM_CC.CreatePrimary,
  handles: { primaryHandle: 'auth' },
  parameters: {
    inSensitive: TPM2B_SENSITIVE_CREATE,
    inPublic: TPM2B_PUBLIC,
    outsideInfo: TPM2B_DATA,
    creationPCR: TPML_PCR_SELECTION,
  },
  responseHandles: ['objectHandle'],
  response: {
    outPublic: TPM2B_PUBLIC,
    creationData: TPM2B_CREATION_DATA,
    creationHash: TPM2B_DIGEST,
    creationTicket: TPMT_TK_CREATION,
    name: TPM2B_NAME,
  },
});
