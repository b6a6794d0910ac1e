// Part 3 §16: Random number generator.
import { UINT16 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_DIGEST } from '../structures/basic.js';

/** TPM2_GetRandom (Part 3 §16.1): at most sizeof(TPMU_HA) bytes per call. */
export const GetRandom = command({
  name: 'TPM2_GetRandom',
  code: TPM_CC.GetRandom,
  handles: {},
  parameters: { bytesRequested: UINT16 },
  responseHandles: [],
  response: { randomBytes: TPM2B_DIGEST },
});
