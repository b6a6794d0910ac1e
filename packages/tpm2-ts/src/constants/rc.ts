/**
 * TPM_RC response codes (Part 2 §6.6). A response code is either format 0
 * (bit 7 clear: a version-1 error, warning or vendor code) or format 1 (bit 7
 * set: an error tied to a handle, session or parameter number).
 */
export const RC_VER1 = 0x100;
export const RC_FMT1 = 0x080;
export const RC_WARN = 0x900;

/** Format-0 (RC_VER1) errors and RC_WARN warnings, by full code. */
export const TPM_RC = {
  SUCCESS: 0x000,
  BAD_TAG: 0x01e,
  INITIALIZE: RC_VER1 + 0x000,
  FAILURE: RC_VER1 + 0x001,
  SEQUENCE: RC_VER1 + 0x003,
  PRIVATE: RC_VER1 + 0x00b,
  HMAC: RC_VER1 + 0x019,
  DISABLED: RC_VER1 + 0x020,
  EXCLUSIVE: RC_VER1 + 0x021,
  AUTH_TYPE: RC_VER1 + 0x024,
  AUTH_MISSING: RC_VER1 + 0x025,
  POLICY: RC_VER1 + 0x026,
  PCR: RC_VER1 + 0x027,
  PCR_CHANGED: RC_VER1 + 0x028,
  UPGRADE: RC_VER1 + 0x02d,
  TOO_MANY_CONTEXTS: RC_VER1 + 0x02e,
  AUTH_UNAVAILABLE: RC_VER1 + 0x02f,
  REBOOT: RC_VER1 + 0x030,
  UNBALANCED: RC_VER1 + 0x031,
  COMMAND_SIZE: RC_VER1 + 0x042,
  COMMAND_CODE: RC_VER1 + 0x043,
  AUTHSIZE: RC_VER1 + 0x044,
  AUTH_CONTEXT: RC_VER1 + 0x045,
  NV_RANGE: RC_VER1 + 0x046,
  NV_SIZE: RC_VER1 + 0x047,
  NV_LOCKED: RC_VER1 + 0x048,
  NV_AUTHORIZATION: RC_VER1 + 0x049,
  NV_UNINITIALIZED: RC_VER1 + 0x04a,
  NV_SPACE: RC_VER1 + 0x04b,
  NV_DEFINED: RC_VER1 + 0x04c,
  BAD_CONTEXT: RC_VER1 + 0x050,
  CPHASH: RC_VER1 + 0x051,
  PARENT: RC_VER1 + 0x052,
  NEEDS_TEST: RC_VER1 + 0x053,
  NO_RESULT: RC_VER1 + 0x054,
  SENSITIVE: RC_VER1 + 0x055,
  // Format 1 (base codes; the full code also carries the handle/session/parameter number).
  ASYMMETRIC: RC_FMT1 + 0x001,
  ATTRIBUTES: RC_FMT1 + 0x002,
  HASH: RC_FMT1 + 0x003,
  VALUE: RC_FMT1 + 0x004,
  HIERARCHY: RC_FMT1 + 0x005,
  KEY_SIZE: RC_FMT1 + 0x007,
  MGF: RC_FMT1 + 0x008,
  MODE: RC_FMT1 + 0x009,
  TYPE: RC_FMT1 + 0x00a,
  HANDLE: RC_FMT1 + 0x00b,
  KDF: RC_FMT1 + 0x00c,
  RANGE: RC_FMT1 + 0x00d,
  AUTH_FAIL: RC_FMT1 + 0x00e,
  NONCE: RC_FMT1 + 0x00f,
  PP: RC_FMT1 + 0x010,
  SCHEME: RC_FMT1 + 0x012,
  SIZE: RC_FMT1 + 0x015,
  SYMMETRIC: RC_FMT1 + 0x016,
  TAG: RC_FMT1 + 0x017,
  SELECTOR: RC_FMT1 + 0x018,
  INSUFFICIENT: RC_FMT1 + 0x01a,
  SIGNATURE: RC_FMT1 + 0x01b,
  KEY: RC_FMT1 + 0x01c,
  POLICY_FAIL: RC_FMT1 + 0x01d,
  INTEGRITY: RC_FMT1 + 0x01f,
  TICKET: RC_FMT1 + 0x020,
  RESERVED_BITS: RC_FMT1 + 0x021,
  BAD_AUTH: RC_FMT1 + 0x022,
  EXPIRED: RC_FMT1 + 0x023,
  POLICY_CC: RC_FMT1 + 0x024,
  BINDING: RC_FMT1 + 0x025,
  CURVE: RC_FMT1 + 0x026,
  ECC_POINT: RC_FMT1 + 0x027,
  // Warnings.
  CONTEXT_GAP: RC_WARN + 0x001,
  OBJECT_MEMORY: RC_WARN + 0x002,
  SESSION_MEMORY: RC_WARN + 0x003,
  MEMORY: RC_WARN + 0x004,
  SESSION_HANDLES: RC_WARN + 0x005,
  OBJECT_HANDLES: RC_WARN + 0x006,
  LOCALITY: RC_WARN + 0x007,
  YIELDED: RC_WARN + 0x008,
  CANCELED: RC_WARN + 0x009,
  TESTING: RC_WARN + 0x00a,
  REFERENCE_H0: RC_WARN + 0x010,
  REFERENCE_H1: RC_WARN + 0x011,
  REFERENCE_H2: RC_WARN + 0x012,
  REFERENCE_H3: RC_WARN + 0x013,
  REFERENCE_H4: RC_WARN + 0x014,
  REFERENCE_H5: RC_WARN + 0x015,
  REFERENCE_H6: RC_WARN + 0x016,
  REFERENCE_S0: RC_WARN + 0x018,
  REFERENCE_S1: RC_WARN + 0x019,
  REFERENCE_S2: RC_WARN + 0x01a,
  REFERENCE_S3: RC_WARN + 0x01b,
  REFERENCE_S4: RC_WARN + 0x01c,
  REFERENCE_S5: RC_WARN + 0x01d,
  REFERENCE_S6: RC_WARN + 0x01e,
  NV_RATE: RC_WARN + 0x020,
  LOCKOUT: RC_WARN + 0x021,
  RETRY: RC_WARN + 0x022,
  NV_UNAVAILABLE: RC_WARN + 0x023,
  NOT_USED: RC_WARN + 0x07f,
} as const;

/** One-line meanings (Part 2 Table 16) for the codes users meet most. */
const meanings: Partial<Record<keyof typeof TPM_RC, string>> = {
  INITIALIZE: 'TPM not initialized by TPM2_Startup or already initialized',
  FAILURE: 'commands not being accepted because of a TPM failure',
  SEQUENCE: 'improper use of a sequence handle',
  DISABLED: 'the command is disabled',
  AUTH_MISSING: 'command requires an authorization session for a handle and it is not present',
  POLICY: 'policy failure in math operation or an invalid authPolicy value',
  PCR: 'PCR check fail',
  PCR_CHANGED: 'PCR have changed since checked',
  REBOOT: 'the TPM needs a reboot (TPM2_Startup(CLEAR))',
  COMMAND_SIZE: 'command size value inconsistent with contents of the command buffer',
  COMMAND_CODE: 'command code not supported',
  NV_RANGE: 'NV offset+size is out of range',
  NV_SIZE: 'requested allocation size is larger than allowed',
  NV_LOCKED: 'NV access locked',
  NV_AUTHORIZATION: 'NV access authorization fails in command actions',
  NV_UNINITIALIZED: 'an NV Index is used before being initialized',
  NV_DEFINED: 'NV Index or persistent object already defined',
  BAD_CONTEXT: 'context in TPM2_ContextLoad() is not valid',
  NEEDS_TEST: 'self-test has not been run on an algorithm the command needs',
  ATTRIBUTES: 'inconsistent attributes',
  HASH: 'hash algorithm not supported or not appropriate',
  VALUE: 'value is out of range or is not correct for the context',
  HIERARCHY: 'hierarchy is not enabled or is not correct for the use',
  KEY_SIZE: 'key size is not supported',
  HANDLE: 'the handle is not correct for the use',
  KDF: 'unsupported key derivation function or function not appropriate for use',
  RANGE: 'value was out of allowed range',
  AUTH_FAIL: 'the authorization HMAC check failed and the DA counter incremented',
  NONCE: 'invalid nonce size or nonce value mismatch',
  SCHEME: 'unsupported or incompatible scheme',
  SIZE: 'structure is the wrong size',
  SYMMETRIC: 'unsupported symmetric algorithm or key size, or not appropriate for the instance',
  TAG: 'incorrect structure tag',
  SELECTOR: 'union selector is incorrect',
  INSUFFICIENT: 'the TPM was unable to unmarshal a value because there were not enough octets in the input buffer',
  SIGNATURE: 'the signature is not valid',
  KEY: 'key fields are not compatible with the selected use',
  POLICY_FAIL: 'a policy check failed',
  INTEGRITY: 'integrity check failed',
  TICKET: 'invalid ticket',
  BAD_AUTH: 'authorization failure without DA implications',
  EXPIRED: 'the policy has expired',
  POLICY_CC: 'the commandCode in the policy is not the commandCode of the command',
  BINDING: 'public and sensitive portions of an object are not cryptographically bound',
  CURVE: 'curve not supported',
  ECC_POINT: 'point is not on the required curve',
  OBJECT_MEMORY: 'out of memory for object contexts (flush transient objects)',
  SESSION_MEMORY: 'out of memory for session contexts',
  MEMORY: 'out of shared object/session memory or need space for internal operations',
  OBJECT_HANDLES: 'out of object handles',
  YIELDED: 'the TPM has suspended operation on the command; retry',
  CANCELED: 'the command was canceled',
  TESTING: 'the TPM is performing self-tests; retry',
  NV_RATE: 'the TPM is rate-limiting accesses to prevent wearout of NV',
  LOCKOUT: 'authorizations for objects subject to DA protection are not allowed at this time because the TPM is in DA lockout mode',
  RETRY: 'the TPM was not able to start the command; retry',
  NV_UNAVAILABLE: 'the command may require writing of NV and NV is not currently accessible',
};

const names = new Map<number, keyof typeof TPM_RC>(
  (Object.entries(TPM_RC) as [keyof typeof TPM_RC, number][]).map(([k, v]) => [v, k]),
);

/** A response code taken apart (Part 2 §6.6.2, Figure 4). */
export interface DecodedResponseCode {
  readonly code: number;
  /** 0 or 1; `tpm12` for a TPM 1.2 code; `vendor` for a vendor-defined format-0 code. */
  readonly format: 0 | 1 | 'tpm12' | 'vendor';
  /** The code with the handle/session/parameter number removed (format 1) — compare this with TPM_RC. */
  readonly base: number;
  /** `TPM_RC_AUTH_FAIL` style name, or a hex placeholder for unknown codes. */
  readonly name: string;
  readonly meaning: string | undefined;
  readonly warning: boolean;
  /** Format 1: which parameter (1-based), handle (1-based) or session (1-based) the error concerns. */
  readonly parameter?: number;
  readonly handle?: number;
  readonly session?: number;
}

export function decodeResponseCode(code: number): DecodedResponseCode {
  const rc = code >>> 0;
  if (rc & RC_FMT1) {
    const base = RC_FMT1 + (rc & 0x3f);
    const key = names.get(base);
    const name = key ? `TPM_RC_${key}` : `TPM_RC(0x${base.toString(16)})`;
    const meaning = key ? meanings[key] : undefined;
    const n = (rc >>> 8) & 0x7;
    if (rc & 0x40) return { code: rc, format: 1, base, name, meaning, warning: false, parameter: (rc >>> 8) & 0xf };
    if (rc & 0x800) return { code: rc, format: 1, base, name, meaning, warning: false, session: n };
    return n === 0
      ? { code: rc, format: 1, base, name, meaning, warning: false }
      : { code: rc, format: 1, base, name, meaning, warning: false, handle: n };
  }
  if ((rc & RC_VER1) === 0) {
    const key = names.get(rc);
    return {
      code: rc,
      format: 'tpm12',
      base: rc,
      name: key ? `TPM_RC_${key}` : `TPM1.2 error 0x${rc.toString(16)}`,
      meaning: key ? meanings[key] : undefined,
      warning: false,
    };
  }
  if (rc & 0x400) {
    return { code: rc, format: 'vendor', base: rc, name: `vendor code 0x${rc.toString(16)}`, meaning: undefined, warning: false };
  }
  const base = rc & 0xfff;
  const key = names.get(base);
  const ref = base >= TPM_RC.REFERENCE_H0 && base <= TPM_RC.REFERENCE_S6;
  if (ref) {
    const n = (base & 0x7) + 1;
    const what = base >= TPM_RC.REFERENCE_S0 ? 'session' : 'handle';
    return {
      code: rc,
      format: 0,
      base,
      name: `TPM_RC_${String(key)}`,
      meaning: `${what} ${n} references a transient object or session that is not loaded`,
      warning: true,
    };
  }
  return {
    code: rc,
    format: 0,
    base,
    name: key ? `TPM_RC_${key}` : `TPM_RC(0x${base.toString(16)})`,
    meaning: key ? meanings[key] : undefined,
    warning: (rc & RC_WARN) === RC_WARN,
  };
}

/** Codes after which the same command may simply be sent again (Part 3 §5.4: the TPM did not act on it). */
export function isRetryable(code: number): boolean {
  const b = decodeResponseCode(code).base;
  return b === TPM_RC.RETRY || b === TPM_RC.YIELDED || b === TPM_RC.TESTING;
}
