import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';

export interface MqttLinkOptions {
  readonly host: string;
  readonly port: number;
  /** CA bundle (PEM) the broker's certificate must chain to; its name must match `host`. */
  readonly caPem: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Client id; Mosquitto with `use_username_as_clientid` replaces it by the certificate CN anyway. */
  readonly clientId: string;
  readonly tlsMinVersion: 'TLSv1.3' | 'TLSv1.2';
  /** Subscribed (QoS 1) on every new session, before the link counts as online. */
  readonly subscriptions: readonly string[];
  /**
   * Subscribed too, but only between `openIntake` and `closeIntake`: the
   * shared subscriptions that bring this replica its share of the work,
   * taken only while the components that handle it are running (the
   * broker hands a subscriber messages as soon as it subscribes).
   */
  readonly intake?: readonly string[];
  /** Published by the broker if the connection ends without DISCONNECT. */
  readonly will: { readonly topic: string; readonly payload: Buffer };
  readonly keepaliveSeconds?: number;
  /** A publish not acknowledged within this is reported as failed (default 10 s). */
  readonly publishTimeoutMs?: number;
  readonly log: Logger;
  readonly onMessage: (topic: string, payload: Buffer) => void;
  /** Online: connected with every subscription granted. `reconnect` is false the first time. */
  readonly onOnline: (reconnect: boolean) => void;
  readonly onOffline?: () => void;
}

/** Why the link could not publish. */
export class LinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkError';
  }
}

/**
 * The server's MQTT 5 connection to the external broker: mutual TLS (TLS
 * 1.3 by default) with the replica's fleet-CA client certificate, the
 * broker verified against `caPem` and its host name, a clean start with no
 * session kept (session expiry 0: a replica that dies leaves no queue
 * behind, and the broker stops handing it shared-subscription messages at
 * once), a will message, QoS 1 subscriptions made again on every new
 * session, and reconnection every second while the broker is unreachable.
 */
export class MqttLink {
  readonly #o: MqttLinkOptions;
  readonly #client: MqttClient;
  #online = false;
  #everOnline = false;
  #intakeOpen = false;
  #closed = false;
  #firstOnline: { promise: Promise<void>; resolve: () => void };

  constructor(options: MqttLinkOptions) {
    this.#o = options;
    let resolve!: () => void;
    this.#firstOnline = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    // mqtt.js hands the whole options object to tls.connect, so TLS options beyond its typings apply.
    const clientOptions: IClientOptions & Pick<ConnectionOptions, 'minVersion'> & { readonly noDelay: boolean } = {
      protocol: 'mqtts',
      host: options.host,
      port: options.port,
      // SNI with the name we dialled (not for an IP address, RFC 6066 §3); the certificate is checked against it either way.
      ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
      protocolVersion: 5,
      clientId: options.clientId,
      clean: true,
      properties: { sessionExpiryInterval: 0 },
      keepalive: options.keepaliveSeconds ?? 30,
      connectTimeout: 10_000,
      reconnectPeriod: 1000,
      // Subscriptions are made by `#subscribe` on every CONNACK (the session is never kept).
      resubscribe: false,
      ca: [options.caPem],
      cert: options.certificatePem,
      key: options.privateKeyPem,
      rejectUnauthorized: true,
      minVersion: options.tlsMinVersion,
      // Challenges and verdicts are small: no waiting for Nagle's algorithm.
      noDelay: true,
      will: { topic: options.will.topic, payload: options.will.payload, qos: 1, retain: false },
    };
    this.#client = connect(clientOptions);
    this.#client.on('connect', () => void this.#subscribe());
    this.#client.on('message', (topic, payload) => {
      try {
        this.#o.onMessage(topic, payload);
      } catch (err) {
        this.#o.log.error({ err, topic }, 'external broker message handler threw');
      }
    });
    this.#client.on('close', () => {
      if (this.#online) {
        this.#online = false;
        this.#o.log.warn('connection to the external broker lost; reconnecting');
        this.#o.onOffline?.();
      }
    });
    this.#client.on('error', (err: Error & { code?: unknown }) => {
      this.#o.log.debug({ err: err.message, code: err.code }, 'external broker connection error');
    });
  }

  get online(): boolean {
    return this.#online;
  }

  /** Resolves when the link is first online; rejects after `timeoutMs`. */
  async waitOnline(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LinkError(`no session with the external broker ${this.#o.host}:${this.#o.port} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.#firstOnline.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Publishes (never retained); resolves on PUBACK for QoS 1, rejects with LinkError when offline or after the publish timeout. */
  async publish(topic: string, payload: Uint8Array | string, qos: 0 | 1 = 1): Promise<void> {
    if (this.#closed) throw new LinkError('the external broker link is closed');
    if (!this.#online) throw new LinkError('not connected to the external broker');
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const timeoutMs = this.#o.publishTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#client.publishAsync(topic, body, { qos, retain: false }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LinkError(`no PUBACK for ${topic} within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Subscribes to the intake filters (now, and on every new session). */
  async openIntake(): Promise<void> {
    this.#intakeOpen = true;
    const intake = this.#o.intake ?? [];
    if (!this.#online || intake.length === 0) return;
    await this.#client.subscribeAsync([...intake], { qos: 1 });
  }

  /** Unsubscribes from the intake filters: the broker hands this replica's share to the others from now on. */
  async closeIntake(): Promise<void> {
    this.#intakeOpen = false;
    const intake = this.#o.intake ?? [];
    if (!this.#online || intake.length === 0) return;
    await this.#client.unsubscribeAsync([...intake]).catch((err: unknown) => {
      this.#o.log.warn({ err: (err as Error).message }, 'could not unsubscribe from the external broker');
    });
  }

  /** Sends DISCONNECT (after `lastWords`, if given, so peers need not wait for the will) and stops reconnecting. */
  async close(lastWords?: { topic: string; payload: Buffer }): Promise<void> {
    if (this.#closed) return;
    if (lastWords !== undefined && this.#online) await this.publish(lastWords.topic, lastWords.payload).catch(() => undefined);
    this.#closed = true;
    this.#online = false;
    await this.#client.endAsync(false).catch(() => this.#client.end(true));
  }

  async #subscribe(): Promise<void> {
    const client = this.#client;
    try {
      const filters = [...this.#o.subscriptions, ...(this.#intakeOpen ? (this.#o.intake ?? []) : [])];
      const granted = await client.subscribeAsync(filters, { qos: 1 });
      // MQTT 5 §3.9.3: reason codes 0x80 and above refuse the subscription.
      const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
      if (refused.length > 0) {
        this.#o.log.error({ refused }, "the external broker refused subscriptions: this replica's broker client lacks the vigil:verifier role");
      }
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'subscribing at the external broker failed; reconnecting');
      client.end(true, undefined, () => client.reconnect());
      return;
    }
    if (this.#closed || !client.connected) return;
    const reconnect = this.#everOnline;
    this.#online = true;
    this.#everOnline = true;
    this.#o.log.info({ host: this.#o.host, port: this.#o.port, reconnect }, 'connected to the external broker');
    this.#firstOnline.resolve();
    this.#o.onOnline(reconnect);
  }
}
