/**
 * The hostile corpus for every topic the server reads — enrollment request
 * and proof, evidence, challenge request — built by `hostileJson` from one
 * valid message of each kind, with the fields that hold base64 and free
 * text named so those get their own attacks.
 */
import { randomBytes } from 'node:crypto';
import { MAX_PAYLOAD_BYTES, randomId, type ChallengeRequest, type EnrollProof, type EnrollRequest, type Evidence } from '@vigil/protocol';
import { hostileJson, type HostilePayload } from './hostile-json.js';

const b64 = (n: number): string => randomBytes(n).toString('base64');
const tpm2b = (n: number): string => Buffer.concat([Buffer.from([n >> 8, n & 0xff]), randomBytes(n)]).toString('base64');

export function validEnrollRequest(): EnrollRequest {
  return {
    v: 1,
    token: 'vgl_' + randomBytes(32).toString('base64url'),
    ekPublic: tpm2b(312),
    ekCertificate: b64(900),
    akPublic: tpm2b(280),
    facts: { hostname: 'edge-1', os: 'Debian GNU/Linux 12', arch: 'arm64', agentVersion: '0.1.0', tpm: { manufacturer: 'IBM', firmwareVersion: '1.0' } },
  };
}

export function validEnrollProof(): EnrollProof {
  return { v: 1, sessionId: randomId(), proof: randomBytes(32).toString('hex') };
}

export function validEvidence(): Evidence {
  return { v: 1, challengeId: randomId(), quote: b64(145), signature: b64(72), pcrs: { sha256: { '0': '00'.repeat(32) } } };
}

export function validChallengeRequest(): ChallengeRequest {
  return { v: 1, reason: 'model-changed', detail: '/opt/models/detector.onnx' };
}

export const hostileEnrollRequests = (): HostilePayload[] =>
  hostileJson(validEnrollRequest() as unknown as Record<string, unknown>, {
    maxBytes: MAX_PAYLOAD_BYTES['enroll-request'],
    base64Fields: ['ekPublic', 'ekCertificate', 'akPublic'],
    optionalFields: ['ekCertificate'],
    textFields: [['facts', 'hostname'], ['facts', 'os']],
  });

export const hostileEnrollProofs = (): HostilePayload[] =>
  hostileJson(validEnrollProof() as unknown as Record<string, unknown>, { maxBytes: MAX_PAYLOAD_BYTES['enroll-proof'] });

/** Evidence payloads; `huge` adds the multi-megabyte ones (8 MiB + 1 byte, and a ~8 MiB string in a short field). */
export const hostileEvidencePayloads = (huge = false): HostilePayload[] =>
  hostileJson(validEvidence() as unknown as Record<string, unknown>, {
    maxBytes: MAX_PAYLOAD_BYTES['device-evidence'],
    base64Fields: ['quote', 'signature'],
    huge,
  });

export const hostileChallengeRequests = (): HostilePayload[] =>
  hostileJson(validChallengeRequest() as unknown as Record<string, unknown>, {
    maxBytes: MAX_PAYLOAD_BYTES['device-challenge-request'],
    textFields: [['detail']],
    optionalFields: ['detail'],
  });
