/**
 * One simulated device of the ladder's variants (`variant.ts`): the floor's
 * device (`device.ts`) speaking MQTT 3.1.1 to the server's broker with the
 * fleet simulator's lean client (one connection, subscribed to its own
 * challenge and result topics; requests and evidence published at QoS 0,
 * as the agent and the simulated fleet do). With `json` it sends the
 * protocol's JSON messages (`ladder-messages.ts`) and its signature as a
 * TPMT_SIGNATURE; it reads what it needs of the server's JSON with a plain
 * `JSON.parse` (a load generator, not an agent: the server is measured).
 */
import { sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SecureContext } from 'node:tls';
import { marshal, TPM_ALG, TPMT_SIGNATURE } from '@vigil/tpm2-ts';
import { LeanMqttConnection, type LeanMqttError } from '../fleet/lean-mqtt/index.js';
import { FloorWireError } from './errors.js';
import { decodeFrame, encodeBody, FLOOR_CHALLENGE, FLOOR_EVIDENCE, FLOOR_REQUEST, FLOOR_RESULT, FrameKind, VERDICT_NAMES } from './frames.js';
import type { FloorDeviceOptions } from './device.js';
import { LADDER_REQUEST, ladderEvidence, ladderTopics, publishPayloadBytes, type LadderTopics } from './ladder-messages.js';

/** What the device process drives, whichever kind of device: the floor's own or the ladder's. */
export interface FloorLoopDevice {
  loop: boolean;
  readonly connected: boolean;
  connect(timeoutMs: number): Promise<void>;
  ask(): void;
  close(): void;
}

/** The floor device's options, but TLS always, and results by verdict name (JSON results carry names, not codes). */
export interface FloorMqttDeviceOptions extends Omit<FloorDeviceOptions, 'secureContext' | 'onResult'> {
  readonly secureContext: SecureContext;
  /** Each result: its verdict name, evidence → result and request → result, ms. */
  readonly onResult: (verdict: string, latencyMs: number, roundMs: number) => void;
}

const utf8 = new TextEncoder();

export class FloorMqttDevice implements FloorLoopDevice {
  loop = false;
  readonly #options: FloorMqttDeviceOptions;
  readonly #topics: LadderTopics;
  readonly #request: Uint8Array;
  #connection: LeanMqttConnection | undefined;
  #requestedAt = 0;
  #evidenceAt = 0;
  #waiting = false;
  #closing = false;
  /** Why this side closed the connection, if it did (a message it could not read). */
  #error: string | undefined;

  constructor(options: FloorMqttDeviceOptions) {
    this.#options = options;
    this.#topics = ladderTopics(options.deviceId);
    this.#request = options.traits.json
      ? utf8.encode(JSON.stringify(LADDER_REQUEST))
      : encodeBody(FLOOR_REQUEST, { kind: FrameKind.request }, publishPayloadBytes(this.#topics.request, options.sizes.request));
  }

  get connected(): boolean {
    return this.#connection?.connected ?? false;
  }

  /** Connects (CONNACK) and subscribes to its challenge and result topics; rejects if either fails. */
  async connect(timeoutMs: number): Promise<void> {
    const o = this.#options;
    const connection = new LeanMqttConnection({
      host: o.host,
      port: o.port,
      secureContext: o.secureContext,
      clientId: o.deviceId,
      keepaliveSeconds: 0,
      connectTimeoutMs: timeoutMs,
      onMessage: (topic, payload) => this.#onMessage(topic, payload),
      onClose: (error: LeanMqttError | undefined) => {
        if (this.#connection === connection) o.onClose(this.#closing ? undefined : (this.#error ?? error?.message ?? 'closed by the server'));
      },
    });
    try {
      await connection.ready;
      await connection.subscribe([this.#topics.challenge, this.#topics.result], 0);
    } catch (err) {
      connection.destroy();
      throw new Error(`${o.deviceId}: ${(err as Error).message}`);
    }
    this.#connection = connection;
  }

  ask(): void {
    if (this.#waiting || !this.connected) return;
    this.#waiting = true;
    this.#requestedAt = performance.now();
    this.#connection!.send(this.#topics.request, this.#request, 0);
  }

  close(): void {
    this.#closing = true;
    this.#connection?.destroy();
  }

  #onMessage(topic: string, payload: Buffer): void {
    try {
      if (topic === this.#topics.challenge) return this.#answer(payload);
      if (topic === this.#topics.result) return this.#result(payload);
      throw new FloorWireError('protocol', `a message on ${topic}`);
    } catch (err) {
      this.#error ??= err instanceof FloorWireError ? err.code : String(err);
      this.#connection?.destroy();
    }
  }

  #answer(payload: Buffer): void {
    const o = this.#options;
    let evidence: Uint8Array;
    if (o.traits.json) {
      const challenge = JSON.parse(payload.toString('utf8')) as { challengeId: string; nonce: string };
      const attest = o.quoter.quote(Buffer.from(challenge.nonce, 'hex'));
      const p1363 = sign('sha256', attest, { key: o.ak, dsaEncoding: 'ieee-p1363' });
      const signature = marshal(TPMT_SIGNATURE, {
        sigAlg: TPM_ALG.ECDSA,
        signature: { hash: TPM_ALG.SHA256, signatureR: p1363.subarray(0, 32), signatureS: p1363.subarray(32) },
      });
      evidence = utf8.encode(JSON.stringify(ladderEvidence(challenge.challengeId, attest, signature)));
    } else {
      const { nonce } = decodeFrame(FLOOR_CHALLENGE, payload);
      const attest = o.quoter.quote(nonce);
      const signature = sign('sha256', attest, { key: o.ak, dsaEncoding: 'ieee-p1363' });
      evidence = encodeBody(FLOOR_EVIDENCE, { kind: FrameKind.evidence, attest, signature }, publishPayloadBytes(this.#topics.evidence, o.sizes.evidence));
    }
    this.#evidenceAt = performance.now();
    this.#connection!.send(this.#topics.evidence, evidence, 0);
  }

  #result(payload: Buffer): void {
    const now = performance.now();
    let verdict: string;
    if (this.#options.traits.json) {
      const result = JSON.parse(payload.toString('utf8')) as { ok: boolean; message?: string; verdict?: { submods?: { boot?: { 'ear.status'?: string } } } };
      verdict = result.ok ? (result.verdict?.submods?.boot?.['ear.status'] ?? 'none') : (result.message ?? 'failure');
    } else {
      const code = decodeFrame(FLOOR_RESULT, payload).verdict;
      verdict = VERDICT_NAMES[code] ?? `verdict-${code}`;
    }
    this.#waiting = false;
    this.#options.onResult(verdict, now - this.#evidenceAt, now - this.#requestedAt);
    if (this.loop) this.ask();
  }
}
