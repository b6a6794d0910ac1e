import type { EarStatus } from './names.js';

/**
 * AR4SI trustworthiness claim values (draft-ietf-rats-ar4si §2.3). Each
 * claim is a signed byte whose range says its tier: none -1..1, affirming
 * 2..31 (and -32..-2), warning 32..95 (and -96..-33), contraindicated
 * 96..127 (and -128..-97). Values shared by every claim come first.
 */
export const Ar4si = {
  verifierMalfunction: -1,
  noClaim: 0,
  unexpectedEvidence: 1,
  cryptoValidationFailed: 99,
  instanceIdentity: { trustworthy: 2, untrustworthy: 96, unrecognized: 97 },
  configuration: { approved: 2, noKnownVulnerabilities: 3, unsafe: 32, unsupportable: 96 },
  executables: { approvedRuntime: 2, approvedBoot: 3, unsafeRuntime: 32, unrecognizedRuntime: 33, contraindicatedRuntime: 96 },
  fileSystem: { approved: 2, unrecognized: 32, contraindicated: 96 },
  hardware: { genuine: 2, unsafe: 32, contraindicated: 96, unrecognized: 97 },
  runtimeOpaque: { encryptedMemory: 2, isolatedMemory: 32, visibleMemory: 96 },
  storageOpaque: { hwKeysEncryptedSecrets: 2, swKeysEncryptedSecrets: 32, unencryptedSecrets: 96 },
  sourcedData: { trusted: 2, untrusted: 32, contraindicated: 96 },
} as const;

/** The tier a claim value falls in. */
export function claimTier(value: number): EarStatus {
  if (!Number.isInteger(value) || value < -128 || value > 127) throw new RangeError(`not an AR4SI claim value: ${value}`);
  const m = Math.abs(value);
  if (m <= 1) return 'none';
  if (m <= 31 || value === -32) return 'affirming';
  if (m <= 95 || value === -96) return 'warning';
  return 'contraindicated';
}
