import { createHash, randomBytes } from 'node:crypto';
import type {
  AttestationChallenge,
  AttestationResult,
  ChallengeRequest,
  EnrollChallenge,
  EnrollProof,
  EnrollRequest,
  EnrollResult,
  Evidence,
  RevocationEvent,
} from '../src/index.js';
import { encodeBlob, randomId } from '../src/index.js';

/** Valid example messages of every kind, built from random data. */

export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
export const b64 = (bytes: number): string => randomBytes(bytes).toString('base64');

export function tpm2b(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out[0] = body.length >> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

export function enrollRequest(): EnrollRequest {
  return {
    v: 1,
    token: 'vgl_' + randomBytes(32).toString('base64url'),
    ekPublic: Buffer.from(tpm2b(randomBytes(312))).toString('base64'),
    ekCertificate: b64(1100),
    akPublic: Buffer.from(tpm2b(randomBytes(280))).toString('base64'),
    facts: {
      hostname: 'edge-cam-17.example',
      os: 'Debian GNU/Linux 12 (bookworm)',
      arch: 'arm64',
      agentVersion: '0.1.0',
      tpm: { manufacturer: 'IBM', firmwareVersion: '20191023.0.0.0' },
    },
  };
}

export function enrollChallenge(): EnrollChallenge {
  return { v: 1, sessionId: randomId(), credentialBlob: b64(68), encryptedSecret: b64(258), expiresAt: Date.now() + 60_000 };
}

export function enrollProof(): EnrollProof {
  return { v: 1, sessionId: randomId(), proof: hex(32) };
}

const PEM = `-----BEGIN CERTIFICATE-----\n${randomBytes(600).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

export function enrollAccepted(): EnrollResult {
  return { v: 1, ok: true, deviceId: 'ek-' + hex(20), certificate: PEM, chain: [PEM] };
}

export function enrollRejected(): EnrollResult {
  return { v: 1, ok: false, reason: 'token-used-up', message: 'token has no uses left' };
}

export function challenge(): AttestationChallenge {
  return {
    v: 1,
    challengeId: randomId(),
    nonce: hex(32),
    pcrSelection: { sha256: [0, 1, 2, 3, 4, 5, 6, 7, 13] },
    offsets: { imaEntries: 1200, modelEntries: 4, bootLogDigest: hex(32) },
    expiresAt: Date.now() + 30_000,
  };
}

export function challengeRequest(): ChallengeRequest {
  return { v: 1, reason: 'model-changed', detail: '/opt/models/yolo.onnx' };
}

export function evidence(): Evidence {
  const boot = randomBytes(4000);
  return {
    v: 1,
    challengeId: randomId(),
    quote: b64(145),
    signature: b64(262),
    pcrs: {
      sha256: Object.fromEntries([0, 1, 2, 3, 4, 5, 6, 7, 13].map((i) => [String(i), hex(32)])),
      sha1: { '10': hex(20) },
    },
    bootLog: { digest: createHash('sha256').update(boot).digest('hex'), blob: encodeBlob(boot) },
    imaLog: { format: 'ima-ascii', offset: 1200, count: 3, blob: encodeBlob(Buffer.from('10 aa ima-ng sha256:bb /usr/bin/x\n'.repeat(3))) },
    modelLog: { format: 'ima-ascii', offset: 4, count: 1, blob: encodeBlob(Buffer.from('13 cc ima-ng sha256:dd /opt/models/m\n'), 'identity') },
  };
}

export function verdictResult(): AttestationResult {
  return {
    v: 1,
    ok: true,
    challengeId: randomId(),
    verdict: {
      eat_profile: 'tag:github.com,2023:veraison/ear',
      iat: Math.floor(Date.now() / 1000),
      'ear.verifier-id': { developer: 'Vigil', build: '0.1.0' },
      eat_nonce: hex(32),
      submods: {
        boot: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { executables: 3, hardware: 2 }, 'ear.appraisal-policy-id': 'vigil:policy/fleet@3' },
        models: {
          'ear.status': 'contraindicated',
          'ear.trustworthiness-vector': { 'file-system': 96 },
          'vigil.reasons': [
            { code: 'model-not-allowed', message: 'digest not in allowlist', where: { bank: 'sha256', pcr: 13, event: 2, path: '/opt/models/m.onnx', actual: hex(32) } },
          ],
        },
      },
      'vigil.device-id': 'cam-17',
    },
  };
}

export function failureResult(): AttestationResult {
  return { v: 1, ok: false, error: 'schema', message: 'device-evidence: /quote must be standard padded base64' };
}

export function revocationEvent(): RevocationEvent {
  return {
    v: 1,
    deviceId: 'cam-17',
    serials: [hex(16)],
    reason: 'contraindicated',
    message: 'PCR 13 does not replay',
    revokedAt: Date.now(),
    keyId: hex(32),
    signature: b64(256),
  };
}
