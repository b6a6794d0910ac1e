// Part 2 §8: attribute bit fields.
import type { Infer } from '../codec/codec.js';
import { bits } from '../codec/combinators.js';

/** TPMA_OBJECT (Part 2 §8.3): how an object may be used and duplicated. */
export const TPMA_OBJECT = bits('TPMA_OBJECT', 32, {
  fixedTPM: 1,
  stClear: 2,
  fixedParent: 4,
  sensitiveDataOrigin: 5,
  userWithAuth: 6,
  adminWithPolicy: 7,
  noDA: 10,
  encryptedDuplication: 11,
  restricted: 16,
  decrypt: 17,
  /** `sign` is the spec's SIGN_ENCRYPT bit. */
  sign: 18,
  x509sign: 19,
});
export type TpmaObject = Infer<typeof TPMA_OBJECT>;

/** TPMA_SESSION (Part 2 §8.4). */
export const TPMA_SESSION = bits('TPMA_SESSION', 8, {
  continueSession: 0,
  auditExclusive: 1,
  auditReset: 2,
  decrypt: 5,
  encrypt: 6,
  audit: 7,
});
export type TpmaSession = Infer<typeof TPMA_SESSION>;

/** TPMA_LOCALITY (Part 2 §8.5). */
export const TPMA_LOCALITY = bits('TPMA_LOCALITY', 8, {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  extended: { shift: 5, width: 3 },
});

/** TPMA_NV (Part 2 §13.4); `type` is the TPM_NT field in bits 4..7. */
export const TPMA_NV = bits('TPMA_NV', 32, {
  ppWrite: 0,
  ownerWrite: 1,
  authWrite: 2,
  policyWrite: 3,
  type: { shift: 4, width: 4 },
  policyDelete: 10,
  writeLocked: 11,
  writeAll: 12,
  writeDefine: 13,
  writeStClear: 14,
  globalLock: 15,
  ppRead: 16,
  ownerRead: 17,
  authRead: 18,
  policyRead: 19,
  noDA: 25,
  orderly: 26,
  clearStClear: 27,
  readLocked: 28,
  written: 29,
  platformCreate: 30,
  readStClear: 31,
});
export type TpmaNv = Infer<typeof TPMA_NV>;

/** TPMA_ALGORITHM (Part 2 §8.2). */
export const TPMA_ALGORITHM = bits('TPMA_ALGORITHM', 32, {
  asymmetric: 0,
  symmetric: 1,
  hash: 2,
  object: 3,
  signing: 8,
  encrypting: 9,
  method: 10,
});

/** TPMA_CC (Part 2 §8.9). */
export const TPMA_CC = bits('TPMA_CC', 32, {
  commandIndex: { shift: 0, width: 16 },
  nv: 22,
  extensive: 23,
  flushed: 24,
  cHandles: { shift: 25, width: 3 },
  rHandle: 28,
  vendor: 29,
  res: { shift: 30, width: 2 },
});
