// Part 3 §29: Clocks and timers.
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPMS_TIME_INFO } from '../structures/attest.js';

/** TPM2_ReadClock (Part 3 §29.1): time, clock, resetCount, restartCount and safe, unsigned. */
export const ReadClock = command({
  name: 'TPM2_ReadClock',
  code: TPM_CC.ReadClock,
  handles: {},
  parameters: {},
  responseHandles: [],
  response: { currentTime: TPMS_TIME_INFO },
});
