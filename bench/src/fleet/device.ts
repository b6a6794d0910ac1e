/**
 * A simulated device on the wire: one MQTT 3.1.1 session over mutual TLS
 * with the device's certificate, client id = device id, publishing at
 * QoS 1 (the server answers at the QoS it chooses), subscribed at QoS 1 to
 * its challenges, results and the fleet revocations, exactly
 * as `agent/src/daemon/server-connection.ts`. The wire is a link
 * (`link/`): mqtt.js, the agent's library, by default; the lean client for
 * load generators. It answers challenges through its `SimAttester` and
 * times each answer: from the evidence handed to the link to its result
 * arriving.
 */
import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import {
  decodeChallenge,
  decodeResult,
  decodeRevocation,
  encodeChallengeRequest,
  encodeEvidence,
  overallStatus,
  ProtocolError,
  topics,
  type AttestationChallenge,
  type AttestationResult,
  type ChallengeRequestReason,
  type Evidence,
  type RevocationEvent,
} from '@vigil/protocol';
import { SimAttester, type SimPlatform, type SimQuoteParts } from './attester.js';
import type { SimIdentity } from './identity.js';
import { Inbox } from './inbox.js';
import { LeanLink } from './link/lean-link.js';
import type { SimLink, SimLinkKind, SimLinkOptions } from './link/link.js';
import { MqttJsLink } from './link/mqttjs-link.js';
import type { SoftwareTpm } from './software-tpm.js';

/** One answered challenge, as the device saw it. */
export interface SimVerdictTiming {
  readonly deviceId: string;
  readonly challengeId: string;
  /** Evidence handed to the MQTT client → result received, ms. */
  readonly latencyMs: number;
  /** The answered challenge's `expiresAt` (epoch ms): which issue window it belongs to, on the server's clock and the device's alike. */
  readonly challengeExpiresAt: number;
  /** `affirming` … for verdicts, `error:<code>` for error results. */
  readonly outcome: string;
}

export interface SimDeviceOptions {
  /**
   * The wire (default `mqttjs`, the agent's library; `client` is its
   * MqttClient). `lean`: the lean MQTT client of the load generators,
   * a fraction of the CPU per message; `client` is then undefined.
   */
  readonly link?: SimLinkKind;
  /** Answer every challenge at once with honest evidence (the fleet mode). */
  readonly autoAnswer?: boolean;
  /** After each verdict, ask for the next challenge at once (continuous load). */
  readonly loop?: boolean;
  /** Reconnect after the connection drops (mqtt.js: its reconnect period; lean: the first wait of a jittered backoff), ms; 0 = never. */
  readonly reconnectMs?: number;
  /** Host to connect to (default 127.0.0.1: `localhost` may try ::1 first and wait 250 ms per connection; the TLS server name is `localhost` either way). */
  readonly host?: string;
  /** MQTT keep-alive, s (mqtt.js default 60). */
  readonly keepaliveSeconds?: number;
  /** What the platform measures at boot; none: PCRs stay zero and no logs are sent. */
  readonly platform?: SimPlatform;
  /**
   * Validate what is received and sent against the protocol schemas, as the
   * agent does (default true). A load generator turns it off: the server
   * under test validates every message anyway, and the generator's CPU is
   * better spent generating load on a machine it shares with the server.
   */
  readonly validate?: boolean;
  /** Keep every message received in the inboxes (default true: tests read them; a long fleet run should not). */
  readonly record?: boolean;
  /** Called for every result that answers evidence this device sent. */
  readonly onVerdict?: (timing: SimVerdictTiming) => void;
  /** Called once per challenge id the first time it arrives; `answered`: evidence for it is being sent (auto-answer). */
  readonly onChallenge?: (challenge: AttestationChallenge, answered: boolean) => void;
  /** Called when evidence for `challenge` could not be handed to the broker (no PUBACK: connection lost). */
  readonly onEvidenceFailed?: (challenge: AttestationChallenge, error: Error) => void;
}

/**
 * Everything it receives is kept (unless `record: false`), so a test can
 * tell exactly which verdicts the device saw.
 */
export class SimDevice {
  readonly challenges: Inbox<AttestationChallenge>;
  readonly results: Inbox<AttestationResult>;
  readonly revocations: Inbox<RevocationEvent>;
  readonly attester: SimAttester;
  /** Connection closes seen (drops, server restarts, revocation). */
  disconnects = 0;
  /** Evidence sent and results received that answer it (the difference is verdicts lost or pending). */
  evidenceSent = 0;
  answered = 0;
  challengesSeen = 0;
  /** Evidence that carried the boot log in full (first of a boot, or the server did not name it). */
  bootLogsSent = 0;
  /** Ask for the next challenge as soon as a verdict arrives (starts as `options.loop`). */
  loop: boolean;
  #link: SimLink | undefined;
  #stopped = false;
  /** Challenge id → when the evidence for it was handed to the client, and the challenge's expiry. */
  readonly #pending = new Map<string, { readonly sentAt: number; readonly expiresAt: number }>();
  readonly #answeredIds = new Set<string>();
  /** The same ids in the order answered, to drop the oldest. */
  readonly #answeredRing: Array<string | undefined> = new Array<string | undefined>(ANSWERED_KEPT).fill(undefined);
  #answeredAt = 0;
  readonly #challengeTopic: string;
  readonly #resultTopic: string;
  readonly #requestTopic: string;
  readonly #evidenceTopic: string;

  constructor(
    readonly identity: SimIdentity,
    readonly options: SimDeviceOptions = {},
  ) {
    const record = options.record ?? true;
    this.challenges = new Inbox(record);
    this.results = new Inbox(record);
    this.revocations = new Inbox(record);
    this.attester = new SimAttester(identity.tpm, options.platform);
    this.loop = options.loop === true;
    this.#challengeTopic = topics.deviceChallenge(identity.deviceId);
    this.#resultTopic = topics.deviceResult(identity.deviceId);
    this.#requestTopic = topics.deviceChallengeRequest(identity.deviceId);
    this.#evidenceTopic = topics.deviceEvidence(identity.deviceId);
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }

  get tpm(): SoftwareTpm {
    return this.identity.tpm;
  }

  /** The mqtt.js client of the current connection (the `mqttjs` link only). */
  get client(): MqttClient | undefined {
    return this.#link instanceof MqttJsLink ? this.#link.client : undefined;
  }

  /** The MQTT session is up (either link). */
  get connected(): boolean {
    return this.#link?.connected === true;
  }

  /** Evidence sent that has no result yet. */
  get unanswered(): number {
    return this.#pending.size;
  }

  /** Verdicts (ok results) received, by challenge id. */
  verdicts(): Map<string, Extract<AttestationResult, { ok: true }>> {
    const out = new Map<string, Extract<AttestationResult, { ok: true }>>();
    for (const r of this.results.items) if (r.ok) out.set(r.challengeId, r);
    return out;
  }

  /** Connects (resolves on the first CONNACK and SUBACK) to the broker at `port`. */
  async connect(port: number, caPem: string): Promise<void> {
    this.#stopped = false;
    const options: SimLinkOptions = {
      host: this.options.host ?? '127.0.0.1',
      port,
      caPem,
      certPem: this.identity.certPem,
      keyPem: this.identity.keyPem,
      clientId: this.deviceId,
      keepaliveSeconds: this.options.keepaliveSeconds ?? 60,
      reconnectMs: this.options.reconnectMs ?? 0,
      // Last: the server challenges a device as soon as it subscribes to its challenges.
      subscriptions: [[this.#resultTopic, topics.fleetRevocations], [this.#challengeTopic]],
    };
    const events = {
      onMessage: (topic: string, payload: Buffer) => this.#onMessage(topic, payload),
      onClose: () => void this.disconnects++,
      // Like the agent (agent/src/daemon): after a reconnect, ask for a challenge (reason `reconnect`) rather than wait for the schedule.
      onReconnect: () => {
        if (!this.#stopped) void this.requestChallenge('reconnect').catch(() => undefined);
      },
    };
    const link = this.options.link === 'lean' ? new LeanLink(options, events) : new MqttJsLink(options, events);
    this.#link = link;
    await link.open();
  }

  /**
   * Publishes raw bytes or evidence on the device's own evidence topic at QoS 1,
   * resolving on the PUBACK, so a test knows the broker has it (the agent and
   * the load loop publish at QoS 0).
   */
  async publishEvidence(payload: Evidence | Uint8Array): Promise<void> {
    if (payload instanceof Uint8Array) return this.#link!.publish(this.#evidenceTopic, payload, 1);
    const expiresAt = this.challenges.items.find((c) => c.challengeId === payload.challengeId)?.expiresAt ?? Number.NaN;
    await this.#publish(payload.challengeId, this.options.validate === false ? JSON.stringify(payload) : encodeEvidence(payload), expiresAt);
  }

  /** Evidence for `challengeId`, timed from here. */
  #publish(challengeId: string, payload: Uint8Array | string, expiresAt: number): Promise<void> {
    this.#timeEvidence(challengeId, expiresAt);
    return this.#link!.publish(this.#evidenceTopic, payload, 1);
  }

  #timeEvidence(challengeId: string, expiresAt: number): void {
    this.#pending.set(challengeId, { sentAt: performance.now(), expiresAt });
    this.evidenceSent++;
  }

  /** Asks for a challenge now. */
  requestChallenge(reason: ChallengeRequestReason = 'manual'): Promise<void> {
    if (this.#link === undefined) return Promise.reject(new Error(`${this.deviceId}: not connected`));
    return this.#link.publish(this.#requestTopic, requestPayload(reason), 1);
  }

  /**
   * Asks for a challenge at QoS 0, as the agent does (agent/src/daemon/daemon.ts:
   * no PUBACK to wait for): the load's open and closed loops. A request lost with its
   * connection is seen as no verdict, as for the agent.
   */
  askForChallenge(reason: ChallengeRequestReason = 'manual'): void {
    if (this.#link === undefined) throw new Error(`${this.deviceId}: not connected`);
    this.#link.send(this.#requestTopic, requestPayload(reason), 0);
  }

  /** A fresh challenge: one not seen before (asking for it if none comes). */
  async freshChallenge(): Promise<AttestationChallenge> {
    const seen = new Set(this.results.items.map((r) => r.challengeId));
    const next = this.challenges.take((c) => !seen.has(c.challengeId) && c.expiresAt > Date.now() + 1000);
    for (let i = 0; ; i++) {
      const got = await Promise.race([next, delay(1500).then(() => undefined)]);
      if (got !== undefined) return got;
      if (i > 20) throw new Error(`no challenge for ${this.deviceId}`);
      await this.requestChallenge();
    }
  }

  /** One honest attestation round (or a bent one): challenge → evidence → the result naming the challenge. */
  async attest(bend?: (parts: SimQuoteParts) => void): Promise<AttestationResult> {
    const challenge = await this.freshChallenge();
    await this.publishEvidence(this.attester.evidence(challenge, bend));
    return this.results.take((r) => r.challengeId === challenge.challengeId);
  }

  /** Closes the connection; no reconnect. */
  close(): void {
    this.#stopped = true;
    this.#link?.close();
  }

  /** Closes the connection cleanly (DISCONNECT sent) and waits for it. */
  async end(): Promise<void> {
    this.#stopped = true;
    await this.#link?.end().catch(() => undefined);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === this.#challengeTopic) {
      const c = this.options.validate === false ? (JSON.parse(payload.toString()) as AttestationChallenge) : decodeChallenge(payload);
      if (c instanceof ProtocolError) return;
      this.challenges.push(c);
      this.challengesSeen++;
      // The server re-sends an open challenge when asked again: answer each one once (a second answer is a replay).
      if (this.#answeredIds.has(c.challengeId)) return;
      // The last 64 ids, oldest dropped first: clearing them all at once would let a challenge the server
      // re-sends right after be answered a second time.
      const oldest = this.#answeredRing[this.#answeredAt];
      if (oldest !== undefined) this.#answeredIds.delete(oldest);
      this.#answeredRing[this.#answeredAt] = c.challengeId;
      this.#answeredAt = (this.#answeredAt + 1) % ANSWERED_KEPT;
      this.#answeredIds.add(c.challengeId);
      const answer = this.options.autoAnswer === true && !this.#stopped;
      this.options.onChallenge?.(c, answer);
      if (answer) {
        // Unvalidated (load generation): the evidence as JSON text, made without the object in between (`evidenceJson`).
        const evidence = this.options.validate === false ? this.attester.evidenceJson(c) : encodeEvidence(this.attester.evidence(c));
        if (this.attester.lastReport.bootLog === 'sent') this.bootLogsSent++;
        this.#timeEvidence(c.challengeId, c.expiresAt);
        // QoS 0, as the agent publishes (agent/src/daemon/server-connection.ts).
        this.#link!.send(this.#evidenceTopic, evidence, 0, (err) => this.options.onEvidenceFailed?.(c, err));
      }
    } else if (topic === this.#resultTopic) {
      const r = this.options.validate === false ? (JSON.parse(payload.toString()) as AttestationResult) : decodeResult(payload);
      if (r instanceof ProtocolError) return;
      this.results.push(r);
      const pending = r.challengeId === undefined ? undefined : this.#pending.get(r.challengeId);
      if (pending !== undefined) {
        this.#pending.delete(r.challengeId!);
        this.answered++;
        const outcome = r.ok ? overallStatus(r.verdict) : `error:${r.error}`;
        this.options.onVerdict?.({ deviceId: this.deviceId, challengeId: r.challengeId!, latencyMs: performance.now() - pending.sentAt, challengeExpiresAt: pending.expiresAt, outcome });
      }
      if (this.loop && r.ok && !this.#stopped) this.askForChallenge();
    } else if (topic === topics.fleetRevocations) {
      const e = decodeRevocation(payload);
      if (!(e instanceof ProtocolError)) this.revocations.push(e);
    }
  }
}

/** Challenge ids a device remembers having answered. */
const ANSWERED_KEPT = 64;

const requests = new Map<ChallengeRequestReason, Buffer>();

/** The four possible challenge requests, each encoded once. */
function requestPayload(reason: ChallengeRequestReason): Buffer {
  let b = requests.get(reason);
  if (b === undefined) requests.set(reason, (b = Buffer.from(encodeChallengeRequest({ v: 1, reason }))));
  return b;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
