import Type, { type Static } from 'typebox';
import { Base64, EpochMs, HASH_ALGORITHMS, HashAlgorithm, Pem, RandomId, Sha256Hex, Struct, Text, Version, DeviceId } from './primitives.js';

/**
 * Enrollment: a bootstrap client (self-signed TLS certificate, identity =
 * bootstrap id) proves it holds a genuine TPM and is authorised by a token,
 * then receives its fleet certificate. Topics `vigil/v1/enroll/<bootstrapId>/...`.
 *
 * request (agent) → challenge (server: MakeCredential) → proof (agent:
 * ActivateCredential, then HMAC) → result (server).
 */

/** Largest TPM2B_PUBLIC accepted: an RSA-4096 key with a SHA-512 policy is ~600 bytes. */
export const MAX_TPM2B_PUBLIC_BYTES = 1024;
/** Largest EK certificate (DER). Real ones are 1-2 KiB. */
export const MAX_EK_CERTIFICATE_BYTES = 8192;

/**
 * Enrollment token syntax: `vgl_` followed by 43 base64url characters (32
 * random bytes). The agent can reject a mistyped token before connecting.
 */
export const ENROLLMENT_TOKEN_PATTERN = '^vgl_[A-Za-z0-9_-]{43}$';
export const EnrollmentToken = Type.String({ pattern: ENROLLMENT_TOKEN_PATTERN, minLength: 47, maxLength: 47 });

/** What the device says about itself: recorded for operators, never trusted for decisions. */
export const DeviceFacts = Struct({
  hostname: Text(253),
  os: Text(128, { description: 'e.g. "Debian GNU/Linux 12 (bookworm) 6.1.0-18-arm64"' }),
  arch: Text(32, { description: 'process.arch of the agent, e.g. "arm64"' }),
  agentVersion: Text(64),
  tpm: Struct({
    manufacturer: Text(64, { description: 'TPM_PT_MANUFACTURER as text, e.g. "IBM", "INTC"' }),
    firmwareVersion: Text(64, { description: 'TPM_PT_FIRMWARE_VERSION_1/2, e.g. "20191023.0.0.0"' }),
    // Optional: agents before this field existed did not send it.
    pcrBanks: Type.Optional(
      Type.Array(HashAlgorithm, {
        maxItems: HASH_ALGORITHMS.length,
        uniqueItems: true,
        description:
          'PCR banks the TPM has allocated (TPM_CAP_PCRS), of those the protocol names. The verifier asks only for these; a bank the policy needs and the TPM lacks is reported as pcr-bank-unavailable',
      }),
    ),
  }),
});
export type DeviceFacts = Static<typeof DeviceFacts>;

/** `enroll/<bootstrapId>/request`, agent → server. */
export const EnrollRequest = Struct({
  v: Version,
  token: EnrollmentToken,
  ekPublic: Base64(MAX_TPM2B_PUBLIC_BYTES, { description: 'EK TPM2B_PUBLIC' }),
  ekCertificate: Type.Optional(
    Base64(MAX_EK_CERTIFICATE_BYTES, {
      description: 'EK certificate DER from the TPM NV index; absent if the TPM has none (server policy decides)',
    }),
  ),
  akPublic: Base64(MAX_TPM2B_PUBLIC_BYTES, { description: 'AK TPM2B_PUBLIC' }),
  facts: DeviceFacts,
});
export type EnrollRequest = Static<typeof EnrollRequest>;

/**
 * `enroll/<bootstrapId>/challenge`, server → agent: TPM2_MakeCredential output
 * (TPM 2.0 Part 3 §12.6) for the AK's Name under the EK.
 */
export const EnrollChallenge = Struct({
  v: Version,
  sessionId: RandomId,
  credentialBlob: Base64(512, { description: 'TPM2B_ID_OBJECT' }),
  encryptedSecret: Base64(1024, { description: 'TPM2B_ENCRYPTED_SECRET' }),
  expiresAt: EpochMs,
});
export type EnrollChallenge = Static<typeof EnrollChallenge>;

/**
 * `enroll/<bootstrapId>/proof`, agent → server: HMAC-SHA256 over the session,
 * keyed by the secret TPM2_ActivateCredential released (see `computeEnrollProof`).
 */
export const EnrollProof = Struct({
  v: Version,
  sessionId: RandomId,
  proof: Sha256Hex,
});
export type EnrollProof = Static<typeof EnrollProof>;

/** Named reasons an enrollment is refused. */
export const ENROLL_REJECTIONS = [
  'invalid-request',
  'token-unknown',
  'token-expired',
  'token-used-up',
  'token-revoked',
  'ek-invalid',
  'ek-certificate-missing',
  'ek-certificate-untrusted',
  'ek-certificate-mismatch',
  'ak-invalid',
  'ak-attributes',
  'already-enrolled',
  'device-name-taken',
  'session-unknown',
  'session-expired',
  'session-used',
  'proof-invalid',
  'internal-error',
] as const;
export type EnrollRejection = (typeof ENROLL_REJECTIONS)[number];
export const EnrollRejection = Type.Enum(ENROLL_REJECTIONS);

/** `enroll/<bootstrapId>/result`, server → agent, when enrollment succeeded. */
export const EnrollAccepted = Struct({
  v: Version,
  ok: Type.Literal(true),
  deviceId: DeviceId,
  certificate: Pem('CERTIFICATE', 16384),
  chain: Type.Array(Pem('CERTIFICATE', 16384), { maxItems: 4, description: 'issuing CA first, up to the fleet root' }),
});

/** `enroll/<bootstrapId>/result`, server → agent, when enrollment was refused. */
export const EnrollRejected = Struct({
  v: Version,
  ok: Type.Literal(false),
  reason: EnrollRejection,
  message: Text(512),
});

export const EnrollResult = Type.Union([EnrollAccepted, EnrollRejected]);
export type EnrollResult = Static<typeof EnrollResult>;
