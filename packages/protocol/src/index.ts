/**
 * @vigil/protocol — the MQTT contract between the Vigil agent and server:
 * topic names, message schemas (TypeBox: one definition gives the TS type
 * and the compiled validator), codecs with size limits, the enrollment proof,
 * signed revocation events, and EAR verdict types.
 */

export { ProtocolError, type ProtocolErrorReason } from './errors.js';

export {
  BOOTSTRAP_ID_PATTERN,
  CERTIFICATE_SERIAL_PATTERN,
  DEVICE_ID_PATTERN,
  EK_DEVICE_ID_PREFIX,
  RANDOM_ID_PATTERN,
  bootstrapIdFromSpki,
  deviceIdFromEkPublic,
  isBootstrapId,
  isDeviceId,
  isRandomId,
  randomId,
} from './ids.js';

export {
  TOPIC_ROOT,
  parseTopic,
  serverFilters,
  sharedFilter,
  topics,
  type DeviceTopicKind,
  type EnrollTopicKind,
  type ParsedTopic,
  type TopicKind,
} from './topics.js';

export { DIGEST_SIZE, HASH_ALGORITHMS, PCR_COUNT, type HashAlgorithm } from './schema/primitives.js';

export {
  DeviceFacts,
  ENROLLMENT_TOKEN_PATTERN,
  ENROLL_REJECTIONS,
  EnrollChallenge,
  EnrollProof,
  EnrollRequest,
  EnrollResult,
  type EnrollRejection,
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
  type AttestationError,
  type Blob,
  type BlobEncoding,
  type ChallengeRequestReason,
} from './schema/attestation.js';

export {
  REVOCATION_REASONS,
  RevocationEvent,
  type RevocationReason,
  type UnsignedRevocationEvent,
} from './schema/revocation.js';

export {
  Appraisal,
  EAR_PROFILE,
  EAR_STATUSES,
  Ear,
  EarStatus,
  ReasonLocation,
  SUBMODULES,
  Submods,
  TrustworthinessVector,
  VerdictReason,
  type Submodule,
} from './schema/ear.js';

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
export { decodeBlob, encodeBlob } from './codec/blob.js';

export { canonicalJson } from './json/canonical.js';
export { MAX_JSON_DEPTH } from './json/safe-parse.js';

export { ENROLL_PROOF_LABEL, computeEnrollProof, verifyEnrollProof } from './crypto/enroll-proof.js';
export {
  REVOCATION_SIGNING_CONTEXT,
  keyIdOf,
  revocationSigningBytes,
  signRevocation,
  verifyRevocation,
} from './crypto/revocation-signature.js';

export { Ar4si, claimTier } from './ear/ar4si.js';
export { overallStatus, worseStatus, worstStatus } from './ear/status.js';
