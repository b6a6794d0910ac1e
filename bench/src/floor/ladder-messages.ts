/**
 * The messages of the ladder's variants (`mqtt`, `mqtt-json`,
 * `mqtt-json-sqlite`; `variant.ts`): the design's topics, and the payloads
 * both ways.
 *
 * `mqtt` keeps the floor's binary bodies, each padded so that the whole
 * PUBLISH is the size of the real packet (`wire-sizes.ts`), as the floor
 * pads its frames. The `json` rungs send the protocol's own messages
 * instead: a challenge request, a challenge, steady-state evidence (the
 * quote and its TPMT_SIGNATURE in base64, the twelve quoted PCR values, the
 * boot log by digest, an empty model-log delta, as the fleet simulator's
 * evidence is once the server holds its logs) and an affirming EAR result
 * of the shape the verifier publishes. Their sizes are whatever those
 * messages take; the benchmark prints them.
 */
import { createHash } from 'node:crypto';
import { EAR_PROFILE, topics, type AttestationChallenge, type AttestationResult, type ChallengeRequest, type Ear, type Evidence } from '@vigil/protocol';
import { QUOTED_PCRS } from './quote.js';

/** A device's four topics (design: Protocol). */
export interface LadderTopics {
  readonly request: string;
  readonly challenge: string;
  readonly evidence: string;
  readonly result: string;
}

export function ladderTopics(deviceId: string): LadderTopics {
  return {
    request: topics.deviceChallengeRequest(deviceId),
    challenge: topics.deviceChallenge(deviceId),
    evidence: topics.deviceEvidence(deviceId),
    result: topics.deviceResult(deviceId),
  };
}

/** Bytes of an MQTT remaining-length field for `n` (MQTT 3.1.1 §2.2.3). */
function varintBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/**
 * The payload size that makes a QoS 0 PUBLISH on `topic` exactly
 * `packetBytes` long: one type byte, the remaining length, the topic as an
 * MQTT string (2-byte length), no packet identifier at QoS 0 (MQTT 3.1.1
 * §3.3). Throws a RangeError when the topic alone does not fit.
 */
export function publishPayloadBytes(topic: string, packetBytes: number): number {
  const topicBytes = 2 + Buffer.byteLength(topic, 'utf8');
  for (let lengthBytes = 1; lengthBytes <= 4; lengthBytes++) {
    const remaining = packetBytes - 1 - lengthBytes;
    if (varintBytes(remaining) === lengthBytes && remaining >= topicBytes) return remaining - topicBytes;
  }
  throw new RangeError(`no ${packetBytes}-byte PUBLISH fits topic ${topic}`);
}

/** The boot event log's digest, as the server names it in every challenge once it holds the log (steady state). */
export const BOOT_LOG_DIGEST = createHash('sha256').update("the floor's boot event log").digest('hex');
/** Model-log entries the server holds: the device sends none new. */
const MODEL_ENTRIES = 3;
/** The challenge's lifetime, as the verifier's default. */
export const CHALLENGE_TTL_MS = 30_000;

export const LADDER_REQUEST: ChallengeRequest = { v: 1, reason: 'manual' };

export function ladderChallenge(challengeId: string, nonce: Uint8Array, now: number): AttestationChallenge {
  return {
    v: 1,
    challengeId,
    nonce: Buffer.from(nonce).toString('hex'),
    pcrSelection: { sha256: [...QUOTED_PCRS] },
    offsets: { imaEntries: 0, modelEntries: MODEL_ENTRIES, bootLogDigest: BOOT_LOG_DIGEST },
    expiresAt: now + CHALLENGE_TTL_MS,
  };
}

/** The quoted PCRs' values as evidence reports them: the floor's quotes are over zeroed PCRs (`quote.ts`). */
const ZERO_PCRS: Readonly<Record<string, string>> = Object.fromEntries(QUOTED_PCRS.map((i) => [String(i), '00'.repeat(32)]));

export function ladderEvidence(challengeId: string, attest: Uint8Array, signature: Uint8Array): Evidence {
  return {
    v: 1,
    challengeId,
    quote: Buffer.from(attest).toString('base64'),
    signature: Buffer.from(signature).toString('base64'),
    pcrs: { sha256: { ...ZERO_PCRS } },
    bootLog: { digest: BOOT_LOG_DIGEST },
    modelLog: { format: 'ima-ascii', offset: MODEL_ENTRIES, count: 0, blob: { encoding: 'identity', data: '' } },
  };
}

const AFFIRMING_VECTOR = { 'instance-identity': 2, configuration: 2, executables: 2, hardware: 2 } as const;

/** An affirming verdict of the shape the verifier publishes: the three submodules it appraises, its policy and the claims it adds. */
export function ladderResult(deviceId: string, challengeId: string, nonceHex: string, receivedAt: number): AttestationResult {
  const appraisal = { 'ear.status': 'affirming' as const, 'ear.trustworthiness-vector': AFFIRMING_VECTOR, 'ear.appraisal-policy-id': 'vigil:policy/default@1' };
  const verdict: Ear = {
    eat_profile: EAR_PROFILE,
    iat: Math.floor(receivedAt / 1000),
    'ear.verifier-id': { developer: 'vigil', build: 'floor' },
    eat_nonce: nonceHex,
    submods: { boot: appraisal, models: appraisal, identity: appraisal },
    'vigil.device-id': deviceId,
    'vigil.challenge-id': challengeId,
    'vigil.evidence-received-at': receivedAt,
  };
  return { v: 1, ok: true, challengeId, verdict };
}

/**
 * A result that is no affirming verdict; `message` is the floor's verdict
 * name (`nonceMismatch`, `badSignature`, ...), which the devices count. Any
 * of them fails the run, so the floor does not dress them as EAR.
 */
export function ladderFailure(challengeId: string | undefined, message: string): AttestationResult {
  return { v: 1, ok: false, ...(challengeId !== undefined ? { challengeId } : {}), error: 'schema', message: message.slice(0, 1024) };
}
