// Part 3 §30: Capability commands.
import { TPMI_YES_NO, UINT32 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPMS_CAPABILITY_DATA } from '../structures/misc.js';

/**
 * TPM2_GetCapability (Part 3 §30.2): up to propertyCount values of one
 * capability starting at `property`; moreData says whether more follow (the
 * caller asks again from the last value + 1). See `getCapability`.
 */
export const GetCapability = command({
  name: 'TPM2_GetCapability',
  code: TPM_CC.GetCapability,
  handles: {},
  parameters: { capability: UINT32, property: UINT32, propertyCount: UINT32 },
  responseHandles: [],
  response: { moreData: TPMI_YES_NO, capabilityData: TPMS_CAPABILITY_DATA },
});
