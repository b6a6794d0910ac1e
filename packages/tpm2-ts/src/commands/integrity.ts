// Part 3 §22: Integrity collection (PCR).
import { UINT32 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_EVENT, TPML_DIGEST, TPML_DIGEST_VALUES, TPML_PCR_SELECTION } from '../structures/basic.js';

/** TPM2_PCR_Extend (Part 3 §22.2): PCR[i] := H(PCR[i] || digest) in every bank given. */
export const PCR_Extend = command({
  name: 'TPM2_PCR_Extend',
  code: TPM_CC.PCR_Extend,
  handles: { pcrHandle: 'auth' },
  parameters: { digests: TPML_DIGEST_VALUES },
  responseHandles: [],
  response: {},
});

/** TPM2_PCR_Event (Part 3 §22.3): the TPM hashes eventData in every bank and extends each. */
export const PCR_Event = command({
  name: 'TPM2_PCR_Event',
  code: TPM_CC.PCR_Event,
  handles: { pcrHandle: 'auth' },
  parameters: { eventData: TPM2B_EVENT },
  responseHandles: [],
  response: { digests: TPML_DIGEST_VALUES },
});

/**
 * TPM2_PCR_Read (Part 3 §22.4): at most 8 digests per call; pcrSelectionOut
 * says which of the requested PCRs the values are for (in bank order, then
 * index order). pcrUpdateCounter lets a caller detect a change between calls.
 */
export const PCR_Read = command({
  name: 'TPM2_PCR_Read',
  code: TPM_CC.PCR_Read,
  handles: {},
  parameters: { pcrSelectionIn: TPML_PCR_SELECTION },
  responseHandles: [],
  response: { pcrUpdateCounter: UINT32, pcrSelectionOut: TPML_PCR_SELECTION, pcrValues: TPML_DIGEST },
});

/** TPM2_PCR_Reset (Part 3 §22.8): only PCRs resettable at the current locality (16 and 23 at locality 0). */
export const PCR_Reset = command({
  name: 'TPM2_PCR_Reset',
  code: TPM_CC.PCR_Reset,
  handles: { pcrHandle: 'auth' },
  parameters: {},
  responseHandles: [],
  response: {},
});
