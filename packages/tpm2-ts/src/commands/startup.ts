// Part 3 §9: Start-up.
import { UINT16 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';

/** TPM2_Startup (Part 3 §9.3). startupType: TPM_SU_CLEAR or TPM_SU_STATE. */
export const Startup = command({
  name: 'TPM2_Startup',
  code: TPM_CC.Startup,
  handles: {},
  parameters: { startupType: UINT16 },
  responseHandles: [],
  response: {},
});

/** TPM2_Shutdown (Part 3 §9.4). */
export const Shutdown = command({
  name: 'TPM2_Shutdown',
  code: TPM_CC.Shutdown,
  handles: {},
  parameters: { shutdownType: UINT16 },
  responseHandles: [],
  response: {},
});
