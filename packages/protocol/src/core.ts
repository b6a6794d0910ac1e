/**
 * `@vigil/protocol/core`: the part of the protocol that needs no schema
 * engine — identifiers, topics, canonical JSON, the enrollment proof,
 * revocation signatures, blobs, EAR names and status arithmetic, and every
 * message type (types are free). Programs that never decode a message (admin
 * CLIs, the store) import this and skip loading TypeBox; the package root
 * re-exports all of it together with the schemas and codecs.
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
  timeOrderedId,
} from './ids.js';
export { randomPublicBytes } from './random-pool.js';

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

export { canonicalJson } from './json/canonical.js';
export { MAX_JSON_DEPTH } from './json/safe-parse.js';
export { decodeBlob, encodeBlob } from './codec/blob.js';

export { ENROLL_PROOF_LABEL, computeEnrollProof, verifyEnrollProof } from './crypto/enroll-proof.js';
export {
  REVOCATION_SIGNING_CONTEXT,
  keyIdOf,
  revocationSigningBytes,
  signRevocation,
  verifyRevocation,
} from './crypto/revocation-signature.js';

export { EAR_PROFILE, EAR_STATUSES, SUBMODULES, type EarStatus, type Submodule } from './ear/names.js';
export { Ar4si, claimTier } from './ear/ar4si.js';
export { overallStatus, worseStatus, worstStatus } from './ear/status.js';

export { DIGEST_SIZE, HASH_ALGORITHMS, type HashAlgorithm } from './hash-algorithms.js';

// Message types (erased at run time: importing them loads no schema code).
export type { DeviceFacts, EnrollChallenge, EnrollProof, EnrollRejection, EnrollRequest, EnrollResult } from './schema/enroll.js';
export type {
  AttestationChallenge,
  AttestationError,
  AttestationResult,
  Blob,
  BlobEncoding,
  BootLog,
  ChallengeRequest,
  ChallengeRequestReason,
  Evidence,
  ImaLogChunk,
  LogOffsets,
  ModelLogChunk,
  PcrSelection,
  PcrValues,
} from './schema/attestation.js';
export type { RevocationEvent, RevocationReason, UnsignedRevocationEvent } from './schema/revocation.js';
export type { Appraisal, Ear, ReasonLocation, Submods, TrustworthinessVector, VerdictReason } from './schema/ear.js';
