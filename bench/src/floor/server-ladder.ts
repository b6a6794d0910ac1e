/**
 * The floor's server for the ladder's variants (`variant.ts`): the same
 * irreducible work as `FloorServerSession`, but every message an MQTT
 * publish through the server's real broker (`startBroker`: aedes over
 * mutual TLS, the identity from the certificate, the access policy and
 * limits), and, with `json`, every payload the protocol's JSON message
 * through its schemas, with what JSON evidence needs checked besides (the
 * whole TPMS_ATTEST parsed, the PCR digest recomputed from the reported
 * values, a TPMT_SIGNATURE decoded and verified on libuv's pool as the
 * verifier does). With `sqlite`, each verdict is recorded
 * (`FloorVerdictLog`) before its result is published.
 *
 * One outstanding challenge per device, in memory (a new request replaces
 * it; it is used once, whatever the outcome). Bad input never throws out
 * of a handler: it is answered or counted by reason.
 */
import { createHash, verify, type KeyObject } from 'node:crypto';
import {
  decodeChallengeRequest,
  decodeEvidence,
  encodeChallenge,
  encodeResult,
  parseTopic,
  ProtocolError,
  randomId,
  randomPublicBytes,
  type Evidence,
} from '@vigil/protocol';
import type { Broker, InboundMessage } from '@vigil/server';
import { parseQuoteAttest, TPMT_SIGNATURE, TpmAttestError, TpmUnmarshalError, unmarshal, verificationKey, verifyTpmSignatureAsync, type VerificationKey } from '@vigil/tpm2-ts';
import { decodeFrame, encodeBody, FLOOR_CHALLENGE, FLOOR_EVIDENCE, FLOOR_RESULT, FloorVerdict, FrameKind, VERDICT_NAMES } from './frames.js';
import { ladderChallenge, ladderFailure, ladderResult, ladderTopics, publishPayloadBytes, type LadderTopics } from './ladder-messages.js';
import { QUOTED_PCRS, quoteNonce } from './quote.js';
import type { VariantTraits } from './variant.js';
import type { FloorVerdictLog } from './verdict-log.js';
import type { WireSizes } from './wire-sizes.js';

export interface LadderContext {
  readonly traits: VariantTraits;
  readonly sizes: WireSizes;
  /** The device's AK by device id. */
  readonly aks: ReadonlyMap<string, KeyObject>;
  readonly verdicts: Record<string, number>;
  readonly refusals: Record<string, number>;
  /** With `sqlite`: where verdicts are recorded before they are published. */
  readonly log?: FloorVerdictLog;
}

interface Outstanding {
  readonly challengeId: string;
  readonly nonce: Buffer;
  readonly expiresAt: number;
}

interface Peer {
  readonly deviceId: string;
  readonly topics: LadderTopics;
  readonly ak: KeyObject;
  readonly key: VerificationKey;
  outstanding?: Outstanding;
}

export class FloorLadderServer {
  readonly #broker: Broker;
  readonly #context: LadderContext;
  readonly #peers = new Map<string, Peer>();
  /** Binary result bodies by verdict and payload size (the size depends on the topic's length). */
  readonly #results = new Map<number, Buffer>();

  constructor(broker: Broker, context: LadderContext) {
    this.#broker = broker;
    this.#context = context;
    broker.onMessage((m) => this.#onMessage(m));
  }

  #count(table: Record<string, number>, name: string): void {
    table[name] = (table[name] ?? 0) + 1;
  }

  #onMessage(m: InboundMessage): void {
    // The broker lets a device publish only on its own topics; its id is the certificate's.
    if (m.identity.kind !== 'device') return this.#count(this.#context.refusals, 'identity');
    const peer = this.#peer(m.identity.deviceId);
    if (peer === undefined) return this.#count(this.#context.refusals, 'unknown-device');
    const topic = parseTopic(m.topic);
    if (topic?.kind === 'device-challenge-request') return this.#challenge(peer, m.payload);
    if (topic?.kind === 'device-evidence') return this.#appraise(peer, m.payload);
    this.#count(this.#context.refusals, 'topic');
  }

  #peer(deviceId: string): Peer | undefined {
    let peer = this.#peers.get(deviceId);
    if (peer === undefined) {
      const ak = this.#context.aks.get(deviceId);
      if (ak === undefined) return undefined;
      peer = { deviceId, topics: ladderTopics(deviceId), ak, key: verificationKey(ak) };
      this.#peers.set(deviceId, peer);
    }
    return peer;
  }

  #challenge(peer: Peer, payload: Buffer): void {
    const { traits, sizes } = this.#context;
    const now = Date.now();
    // A second request replaces the outstanding challenge: only the latest is answerable.
    const nonce = randomPublicBytes(32);
    if (!traits.json) {
      if (payload[0] !== FrameKind.request) return this.#count(this.#context.refusals, 'malformed');
      peer.outstanding = { challengeId: '', nonce, expiresAt: Infinity };
      const body = encodeBody(FLOOR_CHALLENGE, { kind: FrameKind.challenge, nonce }, publishPayloadBytes(peer.topics.challenge, sizes.challenge));
      this.#broker.sendToDevice(peer.deviceId, peer.topics.challenge, body);
      return;
    }
    const request = decodeChallengeRequest(payload);
    if (request instanceof ProtocolError) return this.#count(this.#context.refusals, request.reason);
    const challenge = ladderChallenge(randomId(), nonce, now);
    peer.outstanding = { challengeId: challenge.challengeId, nonce, expiresAt: challenge.expiresAt };
    this.#broker.sendToDevice(peer.deviceId, peer.topics.challenge, encodeChallenge(challenge));
  }

  #appraise(peer: Peer, payload: Buffer): void {
    const issued = peer.outstanding;
    peer.outstanding = undefined; // used once, whatever the outcome
    if (!this.#context.traits.json) return this.#appraiseBinary(peer, issued, payload);
    const receivedAt = Date.now();
    const evidence = decodeEvidence(payload);
    if (evidence instanceof ProtocolError) return this.#fail(peer, undefined, FloorVerdict.malformedQuote);
    if (issued === undefined || issued.challengeId !== evidence.challengeId || receivedAt > issued.expiresAt) {
      return this.#fail(peer, evidence.challengeId, FloorVerdict.nonceMismatch);
    }
    const quote = Buffer.from(evidence.quote, 'base64');
    let digestOk: boolean;
    try {
      const attest = parseQuoteAttest(quote);
      if (!issued.nonce.equals(attest.extraData)) return this.#fail(peer, evidence.challengeId, FloorVerdict.nonceMismatch);
      digestOk = Buffer.from(attest.attested.pcrDigest).equals(reportedPcrDigest(evidence));
    } catch (err) {
      if (!(err instanceof TpmAttestError)) throw err;
      return this.#fail(peer, evidence.challengeId, FloorVerdict.malformedQuote);
    }
    if (!digestOk) return this.#fail(peer, evidence.challengeId, FloorVerdict.malformedQuote);
    let signature;
    try {
      signature = unmarshal(TPMT_SIGNATURE, Buffer.from(evidence.signature, 'base64'));
    } catch (err) {
      if (!(err instanceof TpmUnmarshalError)) throw err;
      return this.#fail(peer, evidence.challengeId, FloorVerdict.badSignature);
    }
    verifyTpmSignatureAsync(peer.key, quote, signature).then(
      (check) => {
        if (!check.ok) return this.#fail(peer, evidence.challengeId, FloorVerdict.badSignature);
        this.#affirm(peer, issued, receivedAt);
      },
      () => this.#fail(peer, evidence.challengeId, FloorVerdict.badSignature),
    );
  }

  #appraiseBinary(peer: Peer, issued: Outstanding | undefined, payload: Buffer): void {
    if (payload[0] !== FrameKind.evidence) return this.#count(this.#context.refusals, 'malformed');
    let attest: Uint8Array;
    let signature: Uint8Array;
    try {
      ({ attest, signature } = decodeFrame(FLOOR_EVIDENCE, payload));
    } catch {
      return this.#count(this.#context.refusals, 'malformed');
    }
    const nonce = quoteNonce(attest);
    if (nonce === null) return this.#answerBinary(peer, FloorVerdict.malformedQuote);
    if (issued === undefined || !issued.nonce.equals(nonce)) return this.#answerBinary(peer, FloorVerdict.nonceMismatch);
    // The callback form runs on libuv's thread pool, as the verifier's signature check does.
    verify('sha256', attest, { key: peer.ak, dsaEncoding: 'ieee-p1363' }, signature, (err, ok) =>
      this.#answerBinary(peer, err === null && ok ? FloorVerdict.affirming : FloorVerdict.badSignature),
    );
  }

  #answerBinary(peer: Peer, verdict: FloorVerdict): void {
    this.#count(this.#context.verdicts, VERDICT_NAMES[verdict]!);
    const bytes = publishPayloadBytes(peer.topics.result, this.#context.sizes.result);
    const key = bytes * 8 + verdict;
    let body = this.#results.get(key);
    if (body === undefined) this.#results.set(key, (body = encodeBody(FLOOR_RESULT, { kind: FrameKind.result, verdict }, bytes)));
    this.#broker.sendToDevice(peer.deviceId, peer.topics.result, body);
  }

  #fail(peer: Peer, challengeId: string | undefined, verdict: FloorVerdict): void {
    const name = VERDICT_NAMES[verdict]!;
    this.#count(this.#context.verdicts, name);
    this.#broker.sendToDevice(peer.deviceId, peer.topics.result, encodeResult(ladderFailure(challengeId, name)));
  }

  #affirm(peer: Peer, issued: Outstanding, receivedAt: number): void {
    const deviceId = peer.deviceId;
    const result = encodeResult(ladderResult(deviceId, issued.challengeId, issued.nonce.toString('hex'), receivedAt));
    const publish = () => {
      this.#count(this.#context.verdicts, 'affirming');
      this.#broker.sendToDevice(deviceId, peer.topics.result, result);
    };
    const log = this.#context.log;
    if (log === undefined) return publish();
    // Stored before it is published: a device never holds a verdict the store lost.
    log.record({ challengeId: issued.challengeId, deviceId, expiresAt: issued.expiresAt, receivedAt, status: 'affirming', result }, (outcome) => {
      if (outcome === true) return publish();
      this.#count(this.#context.refusals, outcome === false ? 'replayed-challenge' : 'store-error');
    });
  }
}

/**
 * SHA-256 over the reported values of the quoted PCRs in selection order
 * (TPM 2.0 Part 3 §18.4: the quote's pcrDigest is the hash of the selected
 * PCRs' values concatenated). A quoted PCR without a reported value gives
 * an empty result, which no digest equals.
 */
function reportedPcrDigest(evidence: Evidence): Buffer {
  const bank = evidence.pcrs.sha256;
  const hash = createHash('sha256');
  for (const pcr of QUOTED_PCRS) {
    const hex = bank?.[String(pcr)];
    if (hex === undefined) return Buffer.alloc(0);
    hash.update(Buffer.from(hex, 'hex'));
  }
  return hash.digest();
}
