/** TPM_ALG_ID (Part 2 §6.3; values from the TCG Algorithm Registry). */
export const TPM_ALG = {
  ERROR: 0x0000,
  RSA: 0x0001,
  TDES: 0x0003,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  MGF1: 0x0007,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  SM3_256: 0x0012,
  SM4: 0x0013,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  ECMQV: 0x001d,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CAMELLIA: 0x0026,
  SHA3_256: 0x0027,
  SHA3_384: 0x0028,
  SHA3_512: 0x0029,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;
export type TpmAlgId = number;

/** A hash algorithm the TPM and node:crypto both know, with its digest size. */
export interface HashAlgorithm {
  readonly alg: number;
  /** Name as tpm2-tools and our JSON formats spell it (`sha256`). */
  readonly name: string;
  /** Name for node:crypto `createHash`. */
  readonly nodeName: string;
  readonly size: number;
}

const hashes: readonly HashAlgorithm[] = [
  { alg: TPM_ALG.SHA1, name: 'sha1', nodeName: 'sha1', size: 20 },
  { alg: TPM_ALG.SHA256, name: 'sha256', nodeName: 'sha256', size: 32 },
  { alg: TPM_ALG.SHA384, name: 'sha384', nodeName: 'sha384', size: 48 },
  { alg: TPM_ALG.SHA512, name: 'sha512', nodeName: 'sha512', size: 64 },
  { alg: TPM_ALG.SM3_256, name: 'sm3_256', nodeName: 'sm3', size: 32 },
  { alg: TPM_ALG.SHA3_256, name: 'sha3_256', nodeName: 'sha3-256', size: 32 },
  { alg: TPM_ALG.SHA3_384, name: 'sha3_384', nodeName: 'sha3-384', size: 48 },
  { alg: TPM_ALG.SHA3_512, name: 'sha3_512', nodeName: 'sha3-512', size: 64 },
];
const byAlg = new Map(hashes.map((h) => [h.alg, h]));
const byName = new Map(hashes.map((h) => [h.name, h]));

/** The hash algorithms this library knows (TPMI_ALG_HASH members). */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = hashes;

/** The hash algorithm for a TPM_ALG_ID, or undefined if it is not a hash. */
export function hashAlgorithm(alg: number): HashAlgorithm | undefined {
  return byAlg.get(alg);
}

/** The hash algorithm for a bank name like `sha256` (case-insensitive, `sha-256` accepted). */
export function hashAlgorithmByName(name: string): HashAlgorithm | undefined {
  return byName.get(name.toLowerCase().replace('-', ''));
}

const algNames = new Map<number, string>(Object.entries(TPM_ALG).map(([k, v]) => [v, k]));

/** `TPM_ALG_SHA256` style name for messages. */
export function algName(alg: number): string {
  const n = algNames.get(alg);
  return n ? `TPM_ALG_${n}` : `TPM_ALG(0x${alg.toString(16).padStart(4, '0')})`;
}

/** TPM_ECC_CURVE (Part 2 §6.4). */
export const TPM_ECC = {
  NONE: 0x0000,
  NIST_P192: 0x0001,
  NIST_P224: 0x0002,
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
  BN_P256: 0x0010,
  BN_P638: 0x0011,
  SM2_P256: 0x0020,
} as const;

/** Curves node:crypto supports, with their coordinate size in bytes. */
export const ECC_CURVES: ReadonlyMap<number, { readonly nodeName: string; readonly jwkName: string; readonly size: number }> = new Map([
  [TPM_ECC.NIST_P256, { nodeName: 'prime256v1', jwkName: 'P-256', size: 32 }],
  [TPM_ECC.NIST_P384, { nodeName: 'secp384r1', jwkName: 'P-384', size: 48 }],
  [TPM_ECC.NIST_P521, { nodeName: 'secp521r1', jwkName: 'P-521', size: 66 }],
]);
