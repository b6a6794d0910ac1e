/**
 * One MQTT 3.1.1 client connection over mutual TLS, made for load
 * generation: a socket, a frame parser and a few maps, no streams or event
 * emitters of its own. Incoming bytes are parsed straight off the TLS
 * socket's reads, which land in one buffer the whole process shares (the
 * socket's `onread`: no Buffer and no stream event per read); everything
 * one turn of the event loop sends (the PUBACK for a challenge and the
 * evidence that answers it) goes out in one socket write.
 *
 * What it does: CONNECT (clean session, keep-alive) and CONNACK; SUBSCRIBE
 * and SUBACK; PUBLISH out at QoS 0 (done when queued) and QoS 1 (done on
 * PUBACK, failed when the connection closes first); PUBLISH in at QoS 0 and
 * QoS 1 (PUBACK sent); PINGREQ when nothing else was sent for half the
 * keep-alive, and a close when the broker stays silent; DISCONNECT. What it
 * does not: QoS 2, wills, retained publishes, persistent sessions,
 * reconnecting (the caller's business: `link/lean-link.ts`).
 */
import type { OnReadOpts } from 'node:net';
import { createSecureContext, connect as tlsConnect, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import { LeanMqttError } from './errors.js';
import { FrameParser } from './frame-parser.js';
import {
  checkFixedFlags,
  connackReason,
  decodeAckId,
  decodeConnack,
  decodePublish,
  decodeSuback,
  DISCONNECT,
  encodeConnect,
  encodePuback,
  encodePublish,
  encodeString,
  encodeSubscribe,
  PacketType,
  PINGREQ,
  type QoS,
} from './packets.js';
import { flushThisTurn, type BatchedWriter } from './write-batch.js';

/** Received packets above this are refused (the broker's largest message to a device, a verdict, is a few KiB). */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export interface LeanMqttOptions {
  readonly host: string;
  readonly port: number;
  /** The name the broker's certificate must carry (default `localhost`, as the fleet's broker certificate). */
  readonly servername?: string;
  /** CA, client certificate and key (`leanSecureContext`): made once per device, so a reconnect parses no PEM. */
  readonly secureContext: SecureContext;
  /** The MQTT client id; for a device, its device id. */
  readonly clientId: string;
  /** MQTT keep-alive, s (§3.1.2.10); 0 turns it off. */
  readonly keepaliveSeconds: number;
  /** No CONNACK by then: the attempt fails with `timeout` (default 30 s, as mqtt.js). */
  readonly connectTimeoutMs?: number;
  /** Largest packet body accepted (default 1 MiB); a larger one closes the connection before anything is allocated for it. */
  readonly maxPacketBytes?: number;
  /**
   * Every PUBLISH received, with the QoS it came at (its PUBACK is already
   * queued). `payload` is a view of the read buffer, valid only during the
   * call: copy what must outlive it.
   */
  readonly onMessage: (topic: string, payload: Buffer, qos: QoS) => void;
  /** Once, when the connection closes for any reason; `error` says why unless the caller closed it. */
  readonly onClose?: (error: LeanMqttError | undefined) => void;
}

export interface LeanCredentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** The TLS side of a device: trust only `caPem`, present `certPem`/`keyPem`, TLS 1.3 only. */
export function leanSecureContext(credentials: LeanCredentials): SecureContext {
  return createSecureContext({ ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, minVersion: 'TLSv1.3' });
}

/** How a QoS 1 publish or a subscription ends: an error, or the SUBACK's return codes (none for PUBACK). */
export type AckCallback = (error: LeanMqttError | undefined, codes: readonly number[]) => void;

interface Pending {
  readonly kind: 'puback' | 'suback';
  readonly done: AckCallback;
}

type State = 'connecting' | 'open' | 'closed';

const NO_CODES: readonly number[] = [];
const IGNORE: AckCallback = () => undefined;

/**
 * Where every lean connection's reads land (TLS cleartext, one read at a
 * time): the parser consumes each read before the next can start, copying
 * only a packet split over reads, so one buffer serves the whole process.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class LeanMqttConnection implements BatchedWriter {
  readonly #options: LeanMqttOptions;
  readonly #socket: TLSSocket;
  readonly #parser: FrameParser;
  #state: State = 'connecting';
  /** Why the connection is closing, first reason wins. */
  #error: LeanMqttError | undefined;
  /** The caller ended or destroyed the connection (a close that needs no reason). */
  #closing = false;
  /** The TLS layer's own error, named when the connection closes before CONNACK. */
  #socketError: Error | undefined;
  /** Resolves on a CONNACK that accepts the connection; rejects (`LeanMqttError`) on anything else. */
  readonly ready: Promise<void>;
  #opened!: { readonly resolve: () => void; readonly reject: (e: LeanMqttError) => void };
  /** Resolves once the socket has closed. */
  readonly closed: Promise<void>;
  #markClosed!: () => void;
  #connectTimer: NodeJS.Timeout | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #sentSinceTick = false;
  #pingOutstanding = false;
  /** Packets of this turn, written together at its end. */
  readonly #out: Buffer[] = [];
  #flushQueued = false;
  #nextId = 1;
  readonly #inflight = new Map<number, Pending>();
  /** Topics in MQTT string form, encoded once (a device publishes on two). */
  readonly #topics = new Map<string, Buffer>();

  /** Starts connecting at once; await `ready` (or use `LeanMqttConnection.connect`). */
  constructor(options: LeanMqttOptions) {
    this.#options = options;
    this.ready = new Promise<void>((resolve, reject) => (this.#opened = { resolve, reject }));
    // Marked handled here: a caller that destroys a connection it never awaited gets no unhandled rejection.
    this.ready.catch(() => undefined);
    this.closed = new Promise((resolve) => (this.#markClosed = resolve));
    this.#parser = new FrameParser(options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES, (type, flags, body) => this.#onPacket(type, flags, body));
    const timeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#connectTimer = setTimeout(() => this.destroy(new LeanMqttError('timeout', `${options.clientId}: no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    // `onread` is a documented tls.connect option (Node.js tls docs, "tls.connect(options)") that @types/node lacks.
    const tlsOptions: ConnectionOptions & { readonly onread: OnReadOpts } = {
      host: options.host,
      port: options.port,
      servername: options.servername ?? 'localhost',
      secureContext: options.secureContext,
      rejectUnauthorized: true,
      onread: { buffer: READ_BUFFER, callback: (n: number) => this.#onRead(n) },
    };
    this.#socket = tlsConnect(tlsOptions);
    this.#socket.once('secureConnect', () => {
      this.#socket.setNoDelay(true);
      this.#queue(encodeConnect({ clientId: options.clientId, keepaliveSeconds: options.keepaliveSeconds }));
    });
    this.#socket.on('error', (err: Error) => (this.#socketError ??= err));
    this.#socket.once('close', () => this.#onClosed());
  }

  /** Opens a connection: resolves on a CONNACK that accepts it, rejects (`LeanMqttError`) on anything else. */
  static async connect(options: LeanMqttOptions): Promise<LeanMqttConnection> {
    const connection = new LeanMqttConnection(options);
    await connection.ready;
    return connection;
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  /** CONNACK received and the connection not closed since. */
  get connected(): boolean {
    return this.#state === 'open';
  }

  /** Subscribes to `filters` in one SUBSCRIBE; resolves with the granted QoS per filter, rejects (`refused`) if the broker refused any. */
  subscribe(filters: readonly string[], qos: QoS): Promise<readonly number[]> {
    return new Promise((resolve, reject) => {
      if (this.#state !== 'open') return reject(this.#closedError('subscribe'));
      const id = this.#allocateId();
      this.#inflight.set(id, {
        kind: 'suback',
        done: (error, codes) => {
          if (error !== undefined) return reject(error);
          // One return code per filter, in order (§3.9.3).
          if (codes.length !== filters.length) {
            const mismatch = new LeanMqttError('protocol', `${this.clientId}: SUBACK with ${codes.length} return codes for ${filters.length} topic filters`);
            this.destroy(mismatch);
            return reject(mismatch);
          }
          const refused = filters.filter((_, i) => codes[i] === 0x80);
          if (refused.length > 0) return reject(new LeanMqttError('refused', `${this.clientId}: the broker refused the subscription to ${refused.join(', ')}`));
          resolve(codes);
        },
      });
      this.#queue(encodeSubscribe(id, filters, qos));
    });
  }

  /**
   * Publishes `payload` on `topic`. QoS 0: done once queued for this turn's
   * write. QoS 1: done on the broker's PUBACK; rejected (`closed`) if the
   * connection closes before it.
   */
  publish(topic: string, payload: Uint8Array | string, qos: QoS): Promise<void> {
    return new Promise((resolve, reject) => this.send(topic, payload, qos, (error) => (error === undefined ? resolve() : reject(error))));
  }

  /**
   * `publish` without a promise, for the load generator's hot path: `done`
   * (if given) is called once, with an error or without, when `publish`'s
   * promise would settle — at once (synchronously) for QoS 0 and for a
   * publish that cannot be sent.
   */
  send(topic: string, payload: Uint8Array | string, qos: QoS, done: AckCallback = IGNORE): void {
    if (this.#state !== 'open') return done(this.#closedError('publish'), NO_CODES);
    let packet: Buffer;
    let id = 0;
    try {
      if (qos === 1) id = this.#allocateId();
      packet = encodePublish(this.#topic(topic), payload, qos, id);
    } catch (err) {
      return done(err as LeanMqttError, NO_CODES);
    }
    if (qos === 1) this.#inflight.set(id, { kind: 'puback', done });
    this.#queue(packet);
    if (qos === 0) done(undefined, NO_CODES);
  }

  /** Sends DISCONNECT (§3.14), ends the socket and waits for it to close (destroyed after `timeoutMs`). */
  async end(timeoutMs = 2000): Promise<void> {
    if (this.#state !== 'open') {
      this.destroy();
      return this.closed;
    }
    this.#queue(DISCONNECT);
    this.#flush();
    this.#state = 'closed';
    this.#closing = true;
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  /** Closes at once (no DISCONNECT: to the broker, a dropped connection); `error` is the reason `onClose` gets. */
  destroy(error?: LeanMqttError): void {
    if (error !== undefined) this.#error ??= error;
    else this.#closing = true;
    this.#socket.destroy();
  }

  /** `n` cleartext bytes in READ_BUFFER. */
  #onRead(n: number): boolean {
    try {
      this.#parser.feed(READ_BUFFER, n);
    } catch (err) {
      // The broker's bytes are wrong: nothing after them can be trusted. A handler's own error is not the
      // broker's fault: it propagates, but the rest of the read went unparsed, so the stream is closed as well.
      if (err instanceof LeanMqttError) {
        this.destroy(err);
        return true;
      }
      this.destroy(new LeanMqttError('protocol', `${this.clientId}: a message handler failed`, { cause: err }));
      throw err;
    }
    return true;
  }

  #onPacket(type: number, flags: number, body: Buffer): void {
    if (this.#socket.destroyed) return;
    checkFixedFlags(type, flags);
    this.#pingOutstanding = false; // anything from the broker shows it is alive
    if (this.#state === 'connecting') {
      // The first packet from the server must be CONNACK (§3.2).
      if (type !== PacketType.CONNACK) throw new LeanMqttError('protocol', `${this.clientId}: packet type ${type} before CONNACK`);
      const { returnCode } = decodeConnack(body);
      if (returnCode !== 0) throw new LeanMqttError('refused', `${this.clientId}: the broker refused the connection (CONNACK: ${connackReason(returnCode)})`);
      clearTimeout(this.#connectTimer);
      this.#state = 'open';
      this.#startKeepalive();
      this.#opened.resolve();
      return;
    }
    switch (type) {
      case PacketType.PUBLISH: {
        const p = decodePublish(flags, body);
        if (p.qos === 1) this.#queue(encodePuback(p.packetId));
        this.#options.onMessage(p.topic, p.payload, p.qos);
        return;
      }
      case PacketType.PUBACK:
        return this.#settle(decodeAckId(body, 'PUBACK'), 'puback', NO_CODES);
      case PacketType.SUBACK: {
        const { packetId, codes } = decodeSuback(body);
        return this.#settle(packetId, 'suback', codes);
      }
      case PacketType.PINGRESP:
        if (body.length !== 0) throw new LeanMqttError('protocol', `${this.clientId}: PINGRESP with a body`);
        return;
      default:
        throw new LeanMqttError('protocol', `${this.clientId}: unexpected packet type ${type} from the broker`);
    }
  }

  #settle(id: number, kind: Pending['kind'], codes: readonly number[]): void {
    const pending = this.#inflight.get(id);
    if (pending === undefined || pending.kind !== kind) throw new LeanMqttError('protocol', `${this.clientId}: ${kind.toUpperCase()} for packet id ${id}, which awaits none`);
    this.#inflight.delete(id);
    pending.done(undefined, codes);
  }

  #allocateId(): number {
    if (this.#inflight.size >= 0xffff) throw new LeanMqttError('argument', `${this.clientId}: 65535 packets already await an acknowledgement`);
    let id = this.#nextId;
    while (this.#inflight.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.#nextId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  #topic(topic: string): Buffer {
    let encoded = this.#topics.get(topic);
    if (encoded === undefined) {
      if (this.#topics.size >= 16) this.#topics.clear();
      this.#topics.set(topic, (encoded = encodeString(topic)));
    }
    return encoded;
  }

  #queue(packet: Buffer): void {
    this.#out.push(packet);
    this.#sentSinceTick = true;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      flushThisTurn(this);
    }
  }

  /** Called by the turn's write batch. */
  flushQueued(): void {
    this.#flush();
  }

  /** Everything queued this turn, in one write (one TLS record, one system call). */
  #flush(): void {
    this.#flushQueued = false;
    const n = this.#out.length;
    if (n === 0) return;
    const data = n === 1 ? this.#out[0]! : Buffer.concat(this.#out);
    this.#out.length = 0;
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(data);
  }

  /**
   * Keep-alive (§3.1.2.10): a tick every half period sends PINGREQ when
   * nothing else went out since the last tick, so the broker never sees a
   * full period of silence; a PINGREQ still unanswered (nothing at all
   * received) by the next tick closes the connection as dead.
   */
  #startKeepalive(): void {
    const seconds = this.#options.keepaliveSeconds;
    if (seconds <= 0) return;
    this.#keepaliveTimer = setInterval(() => {
      if (this.#pingOutstanding) {
        this.destroy(new LeanMqttError('timeout', `${this.clientId}: no answer to PINGREQ within ${seconds / 2} s`));
        return;
      }
      if (!this.#sentSinceTick) {
        this.#pingOutstanding = true;
        this.#queue(PINGREQ);
      }
      this.#sentSinceTick = false;
    }, (seconds * 1000) / 2);
    this.#keepaliveTimer.unref();
  }

  #closedError(what: string): LeanMqttError {
    return new LeanMqttError('closed', `${this.clientId}: cannot ${what}, the connection is closed`);
  }

  #onClosed(): void {
    const wasConnecting = this.#state === 'connecting';
    this.#state = 'closed';
    clearTimeout(this.#connectTimer);
    clearInterval(this.#keepaliveTimer);
    this.#out.length = 0;
    const cause = this.#socketError !== undefined ? `: ${this.#socketError.message}` : '';
    const error =
      this.#error ??
      (wasConnecting
        ? new LeanMqttError('closed', `${this.clientId}: connection closed before CONNACK${cause}`, { cause: this.#socketError })
        : this.#closing
          ? undefined
          : new LeanMqttError('closed', `${this.clientId}: the broker closed the connection${cause}`, { cause: this.#socketError }));
    const pendingError = error ?? new LeanMqttError('closed', `${this.clientId}: connection closed before the acknowledgement`);
    const pending = [...this.#inflight.values()];
    this.#inflight.clear();
    for (const p of pending) p.done(pendingError, NO_CODES);
    if (wasConnecting) this.#opened.reject(error!);
    this.#markClosed();
    this.#options.onClose?.(error);
  }
}
