/**
 * @vigil/protocol — the MQTT contract between the Vigil agent and server:
 * topic names, message schemas (TypeBox: one definition gives the TS type
 * and the compiled validator), codecs with size limits, the enrollment proof,
 * signed revocation events, and EAR verdict types.
 *
 * Everything that needs no schema engine is also available, lighter, from
 * `@vigil/protocol/core`.
 */

export * from './core.js';

// Schemas: each is a value (the JSON Schema, for validators and docs) and a type of the same name.
export { DIGEST_SIZE, HASH_ALGORITHMS, PCR_COUNT } from './schema/primitives.js';
export {
  DeviceFacts,
  ENROLLMENT_TOKEN_PATTERN,
  ENROLL_REJECTIONS,
  EnrollChallenge,
  EnrollProof,
  EnrollRequest,
  EnrollResult,
} from './schema/enroll.js';
export {
  ATTESTATION_ERRORS,
  AttestationChallenge,
  AttestationResult,
  BLOB_ENCODINGS,
  BootLog,
  CHALLENGE_REQUEST_REASONS,
  ChallengeRequest,
  Evidence,
  ImaLogChunk,
  LogOffsets,
  MAX_BOOT_LOG_BYTES,
  MAX_IMA_CHUNK_BYTES,
  MAX_INFLATED_LOG_BYTES,
  MAX_MODEL_CHUNK_BYTES,
  ModelLogChunk,
  PcrSelection,
  PcrValues,
} from './schema/attestation.js';
export { REVOCATION_REASONS, RevocationEvent, RevocationReason } from './schema/revocation.js';
export { Appraisal, Ear, EarStatus, ReasonLocation, Submods, TrustworthinessVector, VerdictReason } from './schema/ear.js';

export { type MessageCodec } from './codec/message-codec.js';
export {
  MAX_PAYLOAD_BYTES,
  codecs,
  decodeChallenge,
  decodeChallengeRequest,
  decodeEnrollChallenge,
  decodeEnrollProof,
  decodeEnrollRequest,
  decodeEnrollResult,
  decodeEvidence,
  decodeResult,
  decodeRevocation,
  encodeChallenge,
  encodeChallengeRequest,
  encodeEnrollChallenge,
  encodeEnrollProof,
  encodeEnrollRequest,
  encodeEnrollResult,
  encodeEvidence,
  encodeResult,
  encodeRevocation,
  type MessageByTopicKind,
} from './codec/messages.js';
