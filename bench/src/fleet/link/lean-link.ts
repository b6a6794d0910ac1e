/**
 * The lean link: the load generator's wire (`lean-mqtt/`). Same session as
 * the mqtt.js link — MQTT 3.1.1 over TLS 1.3 with the device's certificate,
 * client id = device id, clean session, subscriptions at QoS 1 — at a
 * fraction of the CPU per packet, so the load generator leaves the cores it
 * shares with the server to the server.
 *
 * Reconnection: after an established session drops, the link connects
 * again after `reconnectMs` (±50 %), doubling the wait after each failed
 * attempt up to 32 × `reconnectMs` (at most 30 s), as the agent backs off;
 * a fleet that a server restart dropped does not come back in lockstep.
 * The secure context (CA, certificate, key) is built once per link, so a
 * reconnect parses no PEM.
 */
import type { SecureContext } from 'node:tls';
import { LeanMqttConnection, LeanMqttError, leanSecureContext, type QoS } from '../lean-mqtt/index.js';
import type { SimLink, SimLinkEvents, SimLinkOptions } from './link.js';

const MAX_BACKOFF_DOUBLINGS = 5;
const MAX_RECONNECT_DELAY_MS = 30_000;

export class LeanLink implements SimLink {
  readonly kind = 'lean';
  #context: SecureContext | undefined;
  /** The session subscriptions were completed on (possibly closed since). */
  #connection: LeanMqttConnection | undefined;
  /** A connection being opened, so `close` can stop it. */
  #attempt: LeanMqttConnection | undefined;
  #stopped = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SimLinkOptions,
    private readonly events: SimLinkEvents,
  ) {}

  get connected(): boolean {
    return this.#connection?.connected === true;
  }

  async open(): Promise<void> {
    this.#stopped = false;
    await this.#open();
  }

  publish(topic: string, payload: Uint8Array | string, qos: QoS): Promise<void> {
    const c = this.#connection;
    if (c === undefined || !c.connected) return Promise.reject(new LeanMqttError('closed', `${this.options.clientId}: not connected`));
    return c.publish(topic, payload, qos);
  }

  send(topic: string, payload: Uint8Array | string, qos: QoS, onFailed?: (error: Error) => void): void {
    const c = this.#connection;
    if (c === undefined || !c.connected) {
      onFailed?.(new LeanMqttError('closed', `${this.options.clientId}: not connected`));
      return;
    }
    c.send(topic, payload, qos, onFailed === undefined ? undefined : (error) => error !== undefined && onFailed(error));
  }

  close(): void {
    this.#stop();
    this.#attempt?.destroy();
    this.#connection?.destroy();
  }

  async end(): Promise<void> {
    this.#stop();
    this.#attempt?.destroy();
    await this.#connection?.end();
  }

  #stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One attempt: connect, then each subscription group in order; the session counts as up only when all are granted. */
  async #open(): Promise<void> {
    const o = this.options;
    this.#context ??= leanSecureContext({ caPem: o.caPem, certPem: o.certPem, keyPem: o.keyPem });
    const connection: LeanMqttConnection = new LeanMqttConnection({
      host: o.host,
      port: o.port,
      secureContext: this.#context,
      clientId: o.clientId,
      keepaliveSeconds: o.keepaliveSeconds,
      onMessage: (topic, payload) => this.events.onMessage(topic, payload),
      onClose: () => {
        this.events.onClose();
        // Only the session that was up reconnects; a failed attempt is its caller's to retry.
        if (connection === this.#connection) this.#dropped();
      },
    });
    this.#attempt = connection;
    try {
      await connection.ready;
      for (const group of o.subscriptions) await connection.subscribe(group, 1);
      if (this.#stopped) throw new LeanMqttError('closed', `${o.clientId}: closed while connecting`);
      // Closed already (after the last SUBACK)? Then it is a failed attempt, not a session that could drop later.
      if (!connection.connected) throw new LeanMqttError('closed', `${o.clientId}: connection closed while subscribing`);
      this.#connection = connection;
    } catch (err) {
      connection.destroy();
      throw err;
    } finally {
      this.#attempt = undefined;
    }
  }

  /** The session dropped: try again later, unless the link was closed or never reconnects. */
  #dropped(): void {
    if (this.#stopped || this.options.reconnectMs <= 0) return;
    const wait = Math.min(MAX_RECONNECT_DELAY_MS, this.options.reconnectMs * 2 ** Math.min(this.#failures, MAX_BACKOFF_DOUBLINGS));
    this.#timer = setTimeout(() => void this.#reconnect(), wait * (0.5 + Math.random()));
  }

  async #reconnect(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    try {
      await this.#open();
      this.#failures = 0;
      this.events.onReconnect();
    } catch {
      this.#failures++;
      this.#dropped();
    }
  }
}
