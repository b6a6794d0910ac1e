/** TPM_RH / TPM_RS permanent handles (Part 2 §7.4). */
export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  UNASSIGNED: 0x40000008,
  /** TPM_RS_PW: the password authorization pseudo-session. */
  PW: 0x40000009,
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
  PLATFORM_NV: 0x4000000d,
} as const;

/** TPM_HT handle types: the most significant octet of a handle (Part 2 §7.2). */
export const TPM_HT = {
  PCR: 0x00,
  NV_INDEX: 0x01,
  HMAC_SESSION: 0x02,
  POLICY_SESSION: 0x03,
  PERMANENT: 0x40,
  TRANSIENT: 0x80,
  PERSISTENT: 0x81,
  AC: 0x90,
} as const;

/** Handle range starts for GetCapability(TPM_CAP_HANDLES) (Part 2 §7.5). */
export const HR = {
  PCR: 0x00000000,
  NV_INDEX: 0x01000000,
  HMAC_SESSION: 0x02000000,
  POLICY_SESSION: 0x03000000,
  PERMANENT: 0x40000000,
  TRANSIENT: 0x80000000,
  PERSISTENT: 0x81000000,
} as const;

export function handleType(handle: number): number {
  return handle >>> 24;
}

/**
 * Whether the Name of an entity is just its handle (Part 1 §16: PCRs,
 * permanent handles and sessions) rather than a digest of its public area
 * (objects and NV indices).
 */
export function nameIsHandle(handle: number): boolean {
  const t = handleType(handle);
  return t === TPM_HT.PCR || t === TPM_HT.PERMANENT || t === TPM_HT.HMAC_SESSION || t === TPM_HT.POLICY_SESSION;
}
