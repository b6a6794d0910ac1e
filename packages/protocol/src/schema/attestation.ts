import Type, { type Static } from 'typebox';
import { Ear } from './ear.js';
import {
  Base64,
  EpochMs,
  HexBytes,
  PCR_COUNT,
  Pem,
  PCR_INDEX_KEY_PATTERN,
  PcrIndex,
  RandomId,
  Sha256Hex,
  Struct,
  Text,
  Uint32,
  Version,
  DIGEST_SIZE,
  type HashAlgorithm,
} from './primitives.js';

/**
 * Continuous attestation of an enrolled device. Topics
 * `vigil/v1/devices/<deviceId>/...`; the device id always comes from the
 * topic (which the broker ties to the client certificate), never from a payload.
 */

/**
 * PCRs to quote, per bank: `{ "sha256": [0, 1, 2, 7, 13] }`, each at most
 * once. The once is a refinement, not JSON Schema's `uniqueItems`: TypeBox
 * checks `uniqueItems` by hashing every item through its generic value hash
 * (~0.7 µs an item, about half of encoding a challenge), and the server
 * encodes a selection with every challenge it sends.
 */
function pcrList() {
  return Type.Refine(
    Type.Array(PcrIndex, { minItems: 1, maxItems: PCR_COUNT }),
    (pcrs) => new Set(pcrs).size === pcrs.length,
    () => 'must not list a PCR twice',
  );
}
export const PcrSelection = Struct(
  {
    sha1: Type.Optional(pcrList()),
    sha256: Type.Optional(pcrList()),
    sha384: Type.Optional(pcrList()),
    sha512: Type.Optional(pcrList()),
  },
  { description: 'TPML_PCR_SELECTION as JSON: PCR indices per bank' },
);
export type PcrSelection = Static<typeof PcrSelection>;

/** PCR values of one bank, keyed by index ("0".."23"): a bounded map. */
function pcrBank(alg: HashAlgorithm) {
  return Type.Record(Type.String({ pattern: PCR_INDEX_KEY_PATTERN }), HexBytes(DIGEST_SIZE[alg]), {
    additionalProperties: false,
    maxProperties: PCR_COUNT,
  });
}
export const PcrValues = Struct({
  sha1: Type.Optional(pcrBank('sha1')),
  sha256: Type.Optional(pcrBank('sha256')),
  sha384: Type.Optional(pcrBank('sha384')),
  sha512: Type.Optional(pcrBank('sha512')),
});
export type PcrValues = Static<typeof PcrValues>;

/**
 * What the server already holds of the device's logs, so the device sends
 * only what is new: IMA and model-log entries are counted from the start of
 * each log; the boot event log is named by the SHA-256 of its raw bytes.
 */
export const LogOffsets = Struct({
  imaEntries: Uint32,
  modelEntries: Uint32,
  bootLogDigest: Type.Optional(Sha256Hex),
});
export type LogOffsets = Static<typeof LogOffsets>;

/** `devices/<deviceId>/challenge`, server → device. */
export const AttestationChallenge = Struct({
  v: Version,
  challengeId: RandomId,
  nonce: HexBytes(32, { description: '32 random bytes; the quote\'s qualifyingData (TPMS_ATTEST.extraData)' }),
  pcrSelection: PcrSelection,
  offsets: LogOffsets,
  expiresAt: EpochMs,
});
export type AttestationChallenge = Static<typeof AttestationChallenge>;

export const CHALLENGE_REQUEST_REASONS = ['boot', 'model-changed', 'reconnect', 'manual'] as const;
export type ChallengeRequestReason = (typeof CHALLENGE_REQUEST_REASONS)[number];

/** `devices/<deviceId>/challenge/request`, device → server: "challenge me now". */
export const ChallengeRequest = Struct({
  v: Version,
  reason: Type.Enum(CHALLENGE_REQUEST_REASONS),
  detail: Type.Optional(Text(256)),
});
export type ChallengeRequest = Static<typeof ChallengeRequest>;

/** Largest raw (possibly compressed) boot event log carried in one message. */
export const MAX_BOOT_LOG_BYTES = 4 * 1024 * 1024;
/** Largest raw (possibly compressed) IMA log chunk carried in one message. */
export const MAX_IMA_CHUNK_BYTES = 5 * 1024 * 1024;
/** Largest raw (possibly compressed) model measurement log chunk in one message. */
export const MAX_MODEL_CHUNK_BYTES = 1024 * 1024;
/** Largest size any log field may inflate to (decompression-bomb bound, see `decodeBlob`). */
export const MAX_INFLATED_LOG_BYTES = 64 * 1024 * 1024;

export const BLOB_ENCODINGS = ['identity', 'gzip'] as const;
export type BlobEncoding = (typeof BLOB_ENCODINGS)[number];

/** A large binary field, sent as is (`identity`) or gzip-compressed (RFC 1952). */
function blob(maxBytes: number) {
  return Struct({ encoding: Type.Enum(BLOB_ENCODINGS), data: Base64(maxBytes) });
}
/** A large binary field as it travels: `{ encoding, data }` (see `encodeBlob` / `decodeBlob`). */
export type Blob = Static<ReturnType<typeof blob>>;

/**
 * TCG PC Client boot event log. `digest` is the SHA-256 of the raw
 * (uncompressed) log; `blob` is omitted when the log equals the one the
 * server named in the challenge's `offsets.bootLogDigest`.
 */
export const BootLog = Struct({
  digest: Sha256Hex,
  blob: Type.Optional(blob(MAX_BOOT_LOG_BYTES)),
});
export type BootLog = Static<typeof BootLog>;

/**
 * Entries `[offset, offset + count)` of a measurement log, in the Linux IMA
 * `ascii_runtime_measurements` line format or the `binary_runtime_measurements` form.
 */
function logChunk(maxBytes: number) {
  return Struct({
    format: Type.Enum(['ima-ascii', 'ima-binary']),
    offset: Uint32,
    count: Uint32,
    blob: blob(maxBytes),
  });
}
export const ImaLogChunk = logChunk(MAX_IMA_CHUNK_BYTES);
export type ImaLogChunk = Static<typeof ImaLogChunk>;
export const ModelLogChunk = logChunk(MAX_MODEL_CHUNK_BYTES);
export type ModelLogChunk = Static<typeof ModelLogChunk>;

/** `devices/<deviceId>/evidence`, device → server: the answer to a challenge. */
export const Evidence = Struct({
  v: Version,
  challengeId: RandomId,
  quote: Base64(2048, { description: 'TPM2B_ATTEST contents: the TPMS_ATTEST bytes TPM2_Quote returned' }),
  signature: Base64(1024, { description: 'TPMT_SIGNATURE over the quote by the AK' }),
  pcrs: PcrValues,
  bootLog: Type.Optional(BootLog),
  imaLog: Type.Optional(ImaLogChunk),
  modelLog: Type.Optional(ModelLogChunk),
});
export type Evidence = Static<typeof Evidence>;

/** Why evidence produced no verdict (a verdict is still a result, see {@link AttestationVerdict}). */
export const ATTESTATION_ERRORS = [
  'payload-too-large',
  'invalid-json',
  'too-deep',
  'forbidden-key',
  'schema',
  'invalid-structure',
  'invalid-compression',
  'device-unknown',
  'device-revoked',
  'overloaded',
  'internal-error',
] as const;
export type AttestationError = (typeof ATTESTATION_ERRORS)[number];

/**
 * `devices/<deviceId>/result`, server → device: the appraisal. When the
 * verdict is affirming and the certificate the device connected with is in
 * the last third of its validity, the server renews it: `certificate` is a
 * new certificate (PEM) for the same key, issued by the fleet CA. Renewal
 * needs no request: only an affirming device ever gets one.
 */
export const AttestationVerdict = Struct({
  v: Version,
  ok: Type.Literal(true),
  challengeId: RandomId,
  verdict: Ear,
  certificate: Type.Optional(Pem('CERTIFICATE', 16384)),
});

/** `devices/<deviceId>/result`, server → device: the evidence could not be appraised. */
export const AttestationFailure = Struct({
  v: Version,
  ok: Type.Literal(false),
  challengeId: Type.Optional(RandomId),
  error: Type.Enum(ATTESTATION_ERRORS),
  message: Text(1024),
});

export const AttestationResult = Type.Union([AttestationVerdict, AttestationFailure]);
export type AttestationResult = Static<typeof AttestationResult>;
