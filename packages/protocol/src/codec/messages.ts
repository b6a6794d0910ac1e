import {
  AttestationChallenge,
  AttestationResult,
  ChallengeRequest,
  Evidence,
} from '../schema/attestation.js';
import { EnrollChallenge, EnrollProof, EnrollRequest, EnrollResult } from '../schema/enroll.js';
import { RevocationEvent } from '../schema/revocation.js';
import type { ProtocolError } from '../errors.js';
import type { TopicKind } from '../topics.js';
import { messageCodec, type MessageCodec } from './message-codec.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Largest payload accepted per message kind, checked before parsing. The
 * broker's maximum packet size must be at least the evidence limit plus the
 * topic (see the README).
 */
export const MAX_PAYLOAD_BYTES = {
  'enroll-request': 32 * KiB,
  'enroll-challenge': 4 * KiB,
  'enroll-proof': 1 * KiB,
  'enroll-result': 80 * KiB,
  'device-challenge': 4 * KiB,
  'device-challenge-request': 1 * KiB,
  'device-evidence': 8 * MiB,
  'device-result': 4 * MiB,
  'fleet-revocations': 8 * KiB,
} as const satisfies Record<TopicKind, number>;

export const enrollRequestCodec = messageCodec('enroll-request', EnrollRequest, MAX_PAYLOAD_BYTES['enroll-request']);
export const enrollChallengeCodec = messageCodec('enroll-challenge', EnrollChallenge, MAX_PAYLOAD_BYTES['enroll-challenge']);
export const enrollProofCodec = messageCodec('enroll-proof', EnrollProof, MAX_PAYLOAD_BYTES['enroll-proof']);
export const enrollResultCodec = messageCodec('enroll-result', EnrollResult, MAX_PAYLOAD_BYTES['enroll-result']);
export const challengeCodec = messageCodec('device-challenge', AttestationChallenge, MAX_PAYLOAD_BYTES['device-challenge']);
export const challengeRequestCodec = messageCodec(
  'device-challenge-request',
  ChallengeRequest,
  MAX_PAYLOAD_BYTES['device-challenge-request'],
);
export const evidenceCodec = messageCodec('device-evidence', Evidence, MAX_PAYLOAD_BYTES['device-evidence']);
export const resultCodec = messageCodec('device-result', AttestationResult, MAX_PAYLOAD_BYTES['device-result']);
export const revocationCodec = messageCodec('fleet-revocations', RevocationEvent, MAX_PAYLOAD_BYTES['fleet-revocations']);

/** The message carried on each kind of topic. */
export interface MessageByTopicKind {
  'enroll-request': EnrollRequest;
  'enroll-challenge': EnrollChallenge;
  'enroll-proof': EnrollProof;
  'enroll-result': EnrollResult;
  'device-challenge': AttestationChallenge;
  'device-challenge-request': ChallengeRequest;
  'device-evidence': Evidence;
  'device-result': AttestationResult;
  'fleet-revocations': RevocationEvent;
}

/** The codec for each topic kind, for dispatchers: `codecs[parseTopic(t).kind].decode(payload)`. */
export const codecs: { readonly [K in TopicKind]: MessageCodec<MessageByTopicKind[K]> } = {
  'enroll-request': enrollRequestCodec,
  'enroll-challenge': enrollChallengeCodec,
  'enroll-proof': enrollProofCodec,
  'enroll-result': enrollResultCodec,
  'device-challenge': challengeCodec,
  'device-challenge-request': challengeRequestCodec,
  'device-evidence': evidenceCodec,
  'device-result': resultCodec,
  'fleet-revocations': revocationCodec,
};

type Decoded<T> = T | ProtocolError;

export const decodeEnrollRequest = (p: Uint8Array): Decoded<EnrollRequest> => enrollRequestCodec.decode(p);
export const decodeEnrollChallenge = (p: Uint8Array): Decoded<EnrollChallenge> => enrollChallengeCodec.decode(p);
export const decodeEnrollProof = (p: Uint8Array): Decoded<EnrollProof> => enrollProofCodec.decode(p);
export const decodeEnrollResult = (p: Uint8Array): Decoded<EnrollResult> => enrollResultCodec.decode(p);
export const decodeChallenge = (p: Uint8Array): Decoded<AttestationChallenge> => challengeCodec.decode(p);
export const decodeChallengeRequest = (p: Uint8Array): Decoded<ChallengeRequest> => challengeRequestCodec.decode(p);
export const decodeEvidence = (p: Uint8Array): Decoded<Evidence> => evidenceCodec.decode(p);
export const decodeResult = (p: Uint8Array): Decoded<AttestationResult> => resultCodec.decode(p);
export const decodeRevocation = (p: Uint8Array): Decoded<RevocationEvent> => revocationCodec.decode(p);

export const encodeEnrollRequest = (m: EnrollRequest): Uint8Array => enrollRequestCodec.encode(m);
export const encodeEnrollChallenge = (m: EnrollChallenge): Uint8Array => enrollChallengeCodec.encode(m);
export const encodeEnrollProof = (m: EnrollProof): Uint8Array => enrollProofCodec.encode(m);
export const encodeEnrollResult = (m: EnrollResult): Uint8Array => enrollResultCodec.encode(m);
export const encodeChallenge = (m: AttestationChallenge): Uint8Array => challengeCodec.encode(m);
export const encodeChallengeRequest = (m: ChallengeRequest): Uint8Array => challengeRequestCodec.encode(m);
export const encodeEvidence = (m: Evidence): Uint8Array => evidenceCodec.encode(m);
export const encodeResult = (m: AttestationResult): Uint8Array => resultCodec.encode(m);
export const encodeRevocation = (m: RevocationEvent): Uint8Array => revocationCodec.encode(m);
