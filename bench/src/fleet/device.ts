/**
 * A simulated device on the wire: one mqtt.js client (the library the agent
 * uses) over mutual TLS with the device's certificate, MQTT 3.1.1, client id
 * = device id, QoS 1 both ways, subscribed to its challenges, results and
 * the fleet revocations, exactly as `agent/src/daemon/server-connection.ts`.
 * It answers challenges through its `SimAttester` and times each answer:
 * from the evidence handed to the client to its result arriving.
 */
import { performance } from 'node:perf_hooks';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
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
  /** Answer every challenge at once with honest evidence (the fleet mode). */
  readonly autoAnswer?: boolean;
  /** After each verdict, ask for the next challenge at once (continuous load). */
  readonly loop?: boolean;
  /** Reconnect after the connection drops (mqtt.js reconnect period, ms); 0 = never. */
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
  client: MqttClient | undefined;
  #stopped = false;
  /** Challenge id → when the evidence for it was handed to the client, and the challenge's expiry. */
  readonly #pending = new Map<string, { readonly sentAt: number; readonly expiresAt: number }>();
  readonly #answeredIds = new Set<string>();
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
    const client = connect({
      protocol: 'mqtts',
      host: this.options.host ?? '127.0.0.1',
      servername: 'localhost',
      port,
      protocolVersion: 4,
      clientId: this.deviceId,
      ca: caPem,
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      rejectUnauthorized: true,
      reconnectPeriod: this.options.reconnectMs ?? 0,
      connectTimeout: 30_000,
      keepalive: this.options.keepaliveSeconds ?? 60,
      clean: true,
      resubscribe: true,
    } as IClientOptions);
    this.client = client;
    client.on('message', (topic: string, payload: Buffer) => this.#onMessage(topic, payload));
    client.on('close', () => this.disconnects++);
    // Like the agent (agent/src/daemon): after a reconnect, ask for a challenge (reason `reconnect`) rather than wait for the schedule.
    let connects = 0;
    client.on('connect', () => {
      if (connects++ > 0 && !this.#stopped) void this.requestChallenge('reconnect').catch(() => undefined);
    });
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const onClose = (): void => {
        // A refused or timed-out first attempt ends here: no background reconnects behind the caller's back.
        // Only the first attempt: once connected, a later close is the reconnect logic's business.
        client.off('connect', onConnect);
        client.end(true);
        reject(new Error(`${this.deviceId}: connection closed before CONNACK`));
      };
      const onConnect = (): void => {
        client.off('close', onClose);
        resolve();
      };
      client.once('connect', onConnect);
      client.once('close', onClose);
    });
    await client.subscribeAsync([topics.deviceResult(this.deviceId), topics.fleetRevocations], { qos: 1 });
    // Last: the server challenges a device as soon as it subscribes to its challenges.
    await client.subscribeAsync(topics.deviceChallenge(this.deviceId), { qos: 1 });
  }

  /** Publishes raw bytes or evidence on the device's own evidence topic (QoS 1: resolves on PUBACK). */
  async publishEvidence(payload: Evidence | Uint8Array): Promise<void> {
    const expiresAt = payload instanceof Uint8Array ? Number.NaN : (this.challenges.items.find((c) => c.challengeId === payload.challengeId)?.expiresAt ?? Number.NaN);
    await this.#publish(payload, expiresAt);
  }

  async #publish(payload: Evidence | Uint8Array, expiresAt: number): Promise<void> {
    const bytes = payload instanceof Uint8Array ? payload : this.options.validate === false ? Buffer.from(JSON.stringify(payload)) : encodeEvidence(payload);
    if (!(payload instanceof Uint8Array)) {
      this.#pending.set(payload.challengeId, { sentAt: performance.now(), expiresAt });
      this.evidenceSent++;
    }
    await this.client!.publishAsync(this.#evidenceTopic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 1 });
  }

  /** Asks for a challenge now. */
  async requestChallenge(reason: ChallengeRequestReason = 'manual'): Promise<void> {
    await this.client!.publishAsync(this.#requestTopic, requestPayload(reason), { qos: 1 });
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
    this.client?.end(true);
  }

  /** Closes the connection cleanly (DISCONNECT sent) and waits for it. */
  async end(): Promise<void> {
    this.#stopped = true;
    await this.client?.endAsync(false).catch(() => undefined);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === this.#challengeTopic) {
      const c = this.options.validate === false ? (JSON.parse(payload.toString()) as AttestationChallenge) : decodeChallenge(payload);
      if (c instanceof ProtocolError) return;
      this.challenges.push(c);
      this.challengesSeen++;
      // The server re-sends an open challenge when asked again: answer each one once (a second answer is a replay).
      if (this.#answeredIds.has(c.challengeId)) return;
      // The last 64 ids, oldest dropped first (a Set iterates in insertion order): clearing them all at once
      // would let a challenge the server re-sends right after be answered a second time.
      if (this.#answeredIds.size >= 64) this.#answeredIds.delete(this.#answeredIds.values().next().value!);
      this.#answeredIds.add(c.challengeId);
      const answer = this.options.autoAnswer === true && !this.#stopped;
      this.options.onChallenge?.(c, answer);
      if (answer) {
        const evidence = this.attester.evidence(c);
        if (this.attester.lastReport.bootLog === 'sent') this.bootLogsSent++;
        void this.#publish(evidence, c.expiresAt).catch((err: unknown) => this.options.onEvidenceFailed?.(c, err as Error));
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
      if (this.loop && r.ok && !this.#stopped) void this.requestChallenge().catch(() => undefined);
    } else if (topic === topics.fleetRevocations) {
      const e = decodeRevocation(payload);
      if (!(e instanceof ProtocolError)) this.revocations.push(e);
    }
  }
}

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
