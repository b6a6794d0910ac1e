// Part 3 §31: Non-volatile storage.
import { UINT16 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_AUTH, TPM2B_MAX_NV_BUFFER, TPM2B_NAME } from '../structures/basic.js';
import { TPM2B_NV_PUBLIC } from '../structures/misc.js';

/** TPM2_NV_DefineSpace (Part 3 §31.3): authHandle is TPM_RH_OWNER or TPM_RH_PLATFORM. */
export const NV_DefineSpace = command({
  name: 'TPM2_NV_DefineSpace',
  code: TPM_CC.NV_DefineSpace,
  handles: { authHandle: 'auth' },
  parameters: { auth: TPM2B_AUTH, publicInfo: TPM2B_NV_PUBLIC },
  responseHandles: [],
  response: {},
});

/** TPM2_NV_UndefineSpace (Part 3 §31.4). */
export const NV_UndefineSpace = command({
  name: 'TPM2_NV_UndefineSpace',
  code: TPM_CC.NV_UndefineSpace,
  handles: { authHandle: 'auth', nvIndex: 'none' },
  parameters: {},
  responseHandles: [],
  response: {},
});

/** TPM2_NV_ReadPublic (Part 3 §31.6): an index's public area and Name (no authorization). */
export const NV_ReadPublic = command({
  name: 'TPM2_NV_ReadPublic',
  code: TPM_CC.NV_ReadPublic,
  handles: { nvIndex: 'none' },
  parameters: {},
  responseHandles: [],
  response: { nvPublic: TPM2B_NV_PUBLIC, nvName: TPM2B_NAME },
});

/** TPM2_NV_Write (Part 3 §31.7): at most TPM_PT_NV_BUFFER_MAX bytes per call. */
export const NV_Write = command({
  name: 'TPM2_NV_Write',
  code: TPM_CC.NV_Write,
  handles: { authHandle: 'auth', nvIndex: 'none' },
  parameters: { data: TPM2B_MAX_NV_BUFFER, offset: UINT16 },
  responseHandles: [],
  response: {},
});

/**
 * TPM2_NV_Read (Part 3 §31.13): at most TPM_PT_NV_BUFFER_MAX bytes per call
 * (see `readNv`). authHandle is the index itself (authRead/policyRead), the
 * owner or the platform, as the index's attributes allow.
 */
export const NV_Read = command({
  name: 'TPM2_NV_Read',
  code: TPM_CC.NV_Read,
  handles: { authHandle: 'auth', nvIndex: 'none' },
  parameters: { size: UINT16, offset: UINT16 },
  responseHandles: [],
  response: { data: TPM2B_MAX_NV_BUFFER },
});
