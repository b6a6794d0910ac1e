import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';

/** What the agent connects with; re-read before every attempt so a renewed certificate is used at the next connect. */
export interface ConnectionCredentials {
  readonly clientId: string;
  readonly keyPem: string;
  readonly certificatePem: string;
  /** Fleet CA (PEM) the server certificate must chain to. */
  readonly caPem: string;
}

/** Why an attempt ended without a session, as far as the agent can tell. */
export type ConnectFailure =
  /** CONNACK with a refusal code (MQTT 3.1.1 §3.2.2.3): 5 = not authorized, 2 = identifier rejected, ... */
  | { readonly kind: 'connack'; readonly code: number; readonly message: string }
  /** The server ended the TLS handshake with an alert about our certificate (revoked, unknown, expired...). */
  | { readonly kind: 'tls-alert'; readonly alert: string; readonly message: string }
  /** Anything else: unreachable, reset, timeout, a server certificate we do not trust. */
  | { readonly kind: 'network'; readonly message: string };

export interface ServerConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly connectTimeoutMs: number;
  readonly keepaliveSeconds: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Topics subscribed (QoS 1) on every connection before `onOnline`. */
  readonly subscriptions: readonly string[];
  readonly log: Logger;
  /** Called before each attempt. Throwing skips the attempt (logged) and backs off. */
  readonly credentials: () => Promise<ConnectionCredentials>;
  /** Connected and subscribed; `serverCertificate` is the (verified) certificate the server presented. */
  readonly onOnline: (info: { readonly reconnect: boolean; readonly serverCertificate: X509Certificate | undefined }) => void;
  readonly onMessage: (topic: string, payload: Buffer) => void;
  /**
   * An attempt or a session ended. Return `'stop'` to end the connection for
   * good (revoked); otherwise the next attempt is scheduled after a jittered,
   * growing delay, announced with `onWaiting`.
   */
  readonly onClosed: (failure: ConnectFailure | undefined, wasOnline: boolean) => 'retry' | 'stop';
  readonly onWaiting?: (delayMs: number, attempt: number) => void;
  readonly onConnecting?: () => void;
  /** Random source for the jitter (tests). */
  readonly random?: () => number;
}

/** A session that lasted this long proves the server accepts us: the next failure starts backing off from the initial delay. */
const STABLE_SESSION_MS = 60_000;

/**
 * The agent's one MQTT connection to the server: MQTT 3.1.1 (mqtt.js,
 * protocolVersion 4) over TLS 1.3 with the device certificate, the server
 * verified against the fleet CA and its name, client id = device id,
 * clean session. mqtt.js' own reconnect is off: this class reconnects with
 * jittered exponential backoff (`Backoff`), resubscribes on every new
 * session, and stops for good when `onClosed` says so. One attempt at a time;
 * no timers run while connected apart from mqtt.js' keep-alive.
 */
export class ServerConnection {
  readonly #o: ServerConnectionOptions;
  readonly #backoff: Backoff;
  #client: MqttClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #online = false;
  #onlineSince = 0;
  #stopped = false;
  #everOnline = false;
  #planned = false;

  constructor(options: ServerConnectionOptions) {
    this.#o = options;
    this.#backoff = new Backoff({ initialMs: options.initialDelayMs, maxMs: options.maxDelayMs, random: options.random });
  }

  get online(): boolean {
    return this.#online;
  }

  /** Starts the first attempt now. */
  start(): void {
    void this.#attempt();
  }

  /** The server proved useful on this session (a verdict arrived): failures start backing off afresh. */
  noteHealthy(): void {
    this.#backoff.reset();
  }

  /**
   * Ends the current session and connects again at once (no backoff), e.g.
   * to present a renewed certificate: the server renews the certificate a
   * session was opened with, so the new one must be put to use.
   */
  reconnect(): void {
    const client = this.#client;
    if (!client || this.#stopped) return;
    this.#planned = true;
    client.end(false);
  }

  /**
   * Publishes at QoS 0 on the current session: resolves once written to the
   * connection. QoS 1 would buy nothing here: sessions are clean, so MQTT
   * 3.1.1 §4.4 re-sends nothing after a reconnect, and on a live connection
   * TCP already delivers in order. What a lost message costs is made good
   * by the protocol itself: the server challenges a device as soon as it
   * subscribes again, and an unanswered challenge by the next one. Each
   * PUBACK was a TLS record both ways for every challenge request and every
   * evidence (~8 % of a verdict's cost, docs/benchmarks.md).
   * @throws when offline
   */
  async publish(topic: string, payload: Uint8Array): Promise<void> {
    const client = this.#client;
    if (!client || !this.#online) throw new Error('not connected to the server');
    await client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 0 });
  }

  /** Ends the session (DISCONNECT when online) and every timer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.#online = false;
    if (client) await client.endAsync(!client.connected).catch(() => undefined);
  }

  async #attempt(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    let creds: ConnectionCredentials;
    try {
      creds = await this.#o.credentials();
    } catch (err) {
      this.#o.log.error({ err }, 'cannot load the device credentials');
      this.#closed({ kind: 'network', message: (err as Error).message });
      return;
    }
    if (this.#stopped) return;
    this.#o.onConnecting?.();
    // mqtt.js hands the whole options object to tls.connect, so TLS options beyond its typings apply.
    const options: IClientOptions & Pick<ConnectionOptions, 'minVersion'> = {
      protocol: 'mqtts',
      host: this.#o.host,
      port: this.#o.port,
      // SNI with the host name we dialled (not for an IP address: RFC 6066 §3); the certificate is checked against it either way.
      ...(isIP(this.#o.host) === 0 ? { servername: this.#o.host } : {}),
      protocolVersion: 4,
      clientId: creds.clientId,
      clean: true,
      keepalive: this.#o.keepaliveSeconds,
      connectTimeout: this.#o.connectTimeoutMs,
      reconnectPeriod: 0,
      // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers for packet ids (~6 MB of heap): the agent sends a few packets a minute.
      writeCache: false,
      ca: [creds.caPem],
      cert: creds.certificatePem,
      key: creds.keyPem,
      rejectUnauthorized: true,
      minVersion: this.#o.tlsMinVersion,
    };
    const client = connect(options);
    this.#client = client;
    let failure: ConnectFailure | undefined;
    let wasOnline = false;

    client.on('error', (err: Error & { code?: number | string }) => {
      failure = classifyError(err);
      this.#o.log.debug({ err: err.message, code: err.code }, 'connection error');
    });
    client.on('message', (topic, payload) => {
      if (client === this.#client) this.#o.onMessage(topic, payload);
    });
    client.on('connect', () => {
      void (async () => {
        try {
          const granted = await client.subscribeAsync([...this.#o.subscriptions], { qos: 1 });
          const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
          if (refused.length > 0) this.#o.log.error({ topics: refused }, 'the server refused subscriptions: this certificate is not the device these topics belong to');
        } catch (err) {
          this.#o.log.warn({ err }, 'subscribe failed');
          client.end(true);
          return;
        }
        if (client !== this.#client || this.#stopped) return;
        const reconnect = this.#everOnline;
        this.#online = true;
        this.#everOnline = true;
        wasOnline = true;
        this.#onlineSince = performance.now();
        const stream = client.stream as unknown as Partial<TLSSocket>;
        this.#o.onOnline({ reconnect, serverCertificate: stream.getPeerX509Certificate?.() });
      })();
    });
    client.once('close', () => {
      client.removeAllListeners('message');
      client.end(true);
      if (client !== this.#client) return;
      this.#client = undefined;
      this.#online = false;
      if (wasOnline && performance.now() - this.#onlineSince >= STABLE_SESSION_MS) this.#backoff.reset();
      if (this.#planned && !this.#stopped) {
        this.#planned = false;
        void this.#attempt();
        return;
      }
      this.#closed(failure, wasOnline);
    });
  }

  #closed(failure: ConnectFailure | undefined, wasOnline = false): void {
    if (this.#stopped) return;
    if (this.#o.onClosed(failure, wasOnline) === 'stop') {
      this.#stopped = true;
      return;
    }
    const attempt = this.#backoff.attempt + 1;
    const delay = this.#backoff.next();
    this.#o.onWaiting?.(delay, attempt);
    this.#timer = setTimeout(() => void this.#attempt(), delay);
  }
}

/** TLS alerts (RFC 8446 §6.2) that say the server refuses our certificate, as OpenSSL names them in error codes. */
const CERTIFICATE_ALERTS = /ALERT_(CERTIFICATE_REVOKED|CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|ACCESS_DENIED)/;

export function classifyError(err: Error & { code?: number | string }): ConnectFailure {
  if (typeof err.code === 'number' && err.code > 0) return { kind: 'connack', code: err.code, message: err.message };
  if (typeof err.code === 'string') {
    const m = CERTIFICATE_ALERTS.exec(err.code);
    if (m) return { kind: 'tls-alert', alert: m[1]!.toLowerCase().replaceAll('_', '-'), message: err.message };
  }
  return { kind: 'network', message: err.message };
}
