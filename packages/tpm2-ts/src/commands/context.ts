// Part 3 §28: Context management.
import { UINT32 } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPMS_CONTEXT } from '../structures/misc.js';

/** TPM2_ContextSave (Part 3 §28.2): an integrity-protected, encrypted copy of a loaded object or session. */
export const ContextSave = command({
  name: 'TPM2_ContextSave',
  code: TPM_CC.ContextSave,
  handles: { saveHandle: 'none' },
  parameters: {},
  responseHandles: [],
  response: { context: TPMS_CONTEXT },
});

/** TPM2_ContextLoad (Part 3 §28.3): reloads a saved context; a transient object gets a new handle. */
export const ContextLoad = command({
  name: 'TPM2_ContextLoad',
  code: TPM_CC.ContextLoad,
  handles: {},
  parameters: { context: TPMS_CONTEXT },
  responseHandles: ['loadedHandle'],
  response: {},
});

/**
 * TPM2_FlushContext (Part 3 §28.4). The handle to flush is a parameter, not
 * a handle-area entry: it needs no authorization and no Name.
 */
export const FlushContext = command({
  name: 'TPM2_FlushContext',
  code: TPM_CC.FlushContext,
  handles: {},
  parameters: { flushHandle: UINT32 },
  responseHandles: [],
  response: {},
});

/**
 * TPM2_EvictControl (Part 3 §28.5): with a transient objectHandle, makes a
 * persistent copy at persistentHandle; with a persistent one, removes it.
 * auth is TPM_RH_OWNER (owner objects) or TPM_RH_PLATFORM.
 */
export const EvictControl = command({
  name: 'TPM2_EvictControl',
  code: TPM_CC.EvictControl,
  handles: { auth: 'auth', objectHandle: 'none' },
  parameters: { persistentHandle: UINT32 },
  responseHandles: [],
  response: {},
});
