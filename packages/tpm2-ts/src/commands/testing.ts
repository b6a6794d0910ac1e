// Part 3 §10: Testing.
import { TPMI_YES_NO } from '../codec/codec.js';
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_MAX_BUFFER } from '../structures/basic.js';
import { UINT32 } from '../codec/codec.js';

/** TPM2_SelfTest (Part 3 §10.2): fullTest YES tests every function, NO only those not yet tested. */
export const SelfTest = command({
  name: 'TPM2_SelfTest',
  code: TPM_CC.SelfTest,
  handles: {},
  parameters: { fullTest: TPMI_YES_NO },
  responseHandles: [],
  response: {},
});

/** TPM2_GetTestResult (Part 3 §10.4): manufacturer-specific test data and the self-test result code. */
export const GetTestResult = command({
  name: 'TPM2_GetTestResult',
  code: TPM_CC.GetTestResult,
  handles: {},
  parameters: {},
  responseHandles: [],
  response: { outData: TPM2B_MAX_BUFFER, testResult: UINT32 },
});
