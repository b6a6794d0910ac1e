import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createServer, type TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { normalizeSerial } from '../pki/serial.js';
import { accessPolicyFor } from './access.js';
import { classifyPeer, oneLine, type TrustAnchor } from './classify.js';
import { MqttFrameScanner } from './frame-scanner.js';
import { encodePublishQos0 } from './publish-packet.js';
import { GuardedConnection } from './guarded-connection.js';
import { clientIdOf, type ClientIdentity, type IdentityRef } from './identity.js';
import { DEFAULT_BROKER_LIMITS, type BrokerLimits } from './limits.js';
import type { RefusalReason } from './refusal.js';
import { anyRevoked, MemoryRevocationList, type RevocationList } from './revocation-list.js';
import type { Session, SessionClient } from './session.js';
import { KeyedRateLimiter, TokenBucket } from './token-bucket.js';

export interface BrokerOptions {
  /** Listen address; default `::` (all interfaces, IPv4 too on dual-stack hosts). */
  readonly host?: string;
  /** TCP port; 0 picks a free one (see `Broker.port`). */
  readonly port: number;
  /** The fleet CA certificate (PEM): the only trust anchor for device certificates. */
  readonly caCertificatePem: string;
  readonly serverCertificatePem: string;
  readonly serverKeyPem: string;
  /** Default TLS 1.3. */
  readonly tlsMinVersion?: 'TLSv1.3' | 'TLSv1.2';
  /** Revocations known at start (the store's list); checked beside the broker's own `revokeDevice` list. */
  readonly revocations?: RevocationList;
  readonly limits?: Partial<BrokerLimits>;
  readonly logger: Logger;
}

/** A message a device or bootstrap client published, with the identity its certificate proved. */
export interface InboundMessage {
  readonly identity: ClientIdentity;
  readonly topic: string;
  readonly payload: Buffer;
}

export type MessageHandler = (message: InboundMessage) => void;

/** Called with a client's identity and the filter it was granted, once the SUBACK is on its way. */
export type SubscribeHandler = (identity: ClientIdentity, topic: string) => void;

export interface Broker {
  /** The port actually listened on. */
  readonly port: number;
  /** Clients past CONNACK (devices and bootstrap clients). */
  readonly connectedCount: number;
  /** Enrolled devices past CONNACK. */
  readonly connectedDeviceCount: number;
  /** The TLS listener is accepting connections (false once closing). */
  readonly listening: boolean;
  /** Publishes on behalf of the server (bypasses client ACLs; never retained). */
  publish(topic: string, payload: Uint8Array | string, options?: { qos?: 0 | 1 | 2 }): Promise<void>;
  /**
   * Sends a message to one device on one of its own topics (its challenges,
   * its results) at QoS 0: delivered if the device is connected and
   * subscribed to `topic`, dropped otherwise, as routing would. Returns
   * whether it was handed to the device's connection.
   *
   * QoS 0 loses nothing QoS 1 would keep here: device sessions are clean
   * (`preConnect` forces it), and MQTT 3.1.1 §4.4 re-sends an unacknowledged
   * QoS 1 message only when a session with CleanSession = 0 resumes; on a
   * live connection TCP already delivers in order. A lost challenge is made
   * good by the schedule or the device's request, a lost result by the next
   * challenge; the verdict is in the store either way.
   */
  sendToDevice(deviceId: string, topic: string, payload: Uint8Array): boolean;
  /** Registers a handler for every message a client was allowed to publish; returns its unregister function. */
  onMessage(handler: MessageHandler): () => void;
  /**
   * Registers a handler for every subscription a client was granted (after
   * the SUBACK; refused ones are not reported), e.g. so the verifier can
   * challenge a device as soon as it listens; returns its unregister function.
   */
  onSubscribe(handler: SubscribeHandler): () => void;
  /** Closes that client's session now; false if it was not connected. */
  disconnect(ref: IdentityRef): boolean;
  /**
   * Revokes a device: its certificate serials and its id are refused from now
   * on, and its live session (if any) is closed now. Returns the number of sessions closed.
   */
  revokeDevice(deviceId: string, serials: Iterable<string>): number;
  /** Lifts a device-id revocation (its old certificates stay revoked). */
  reinstateDevice(deviceId: string): void;
  isConnected(ref: IdentityRef): boolean;
  close(): Promise<void>;
}

/** aedes' `publish` as its handlers call it (its typings give only the two-argument form). */
type RoutePublish = (packet: PublishPacket, client?: Client | null, done?: (error?: Error | null) => void) => void;

/** Error passed to aedes to end a client; `returnCode` picks the CONNACK code (MQTT 3.1.1 §3.2.2.3). */
function connackError(returnCode: 2 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as unknown as AuthenticateError;
}

function sessionOf(client: Client | null | undefined): Session | undefined {
  const conn = client?.conn;
  return conn instanceof GuardedConnection ? conn.session : undefined;
}

function normalizeIp(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function logFields(session: Session): Record<string, unknown> {
  const id = session.identity;
  return {
    ...session.peer,
    ...(id?.kind === 'device' ? { deviceId: id.deviceId, serial: id.serial } : {}),
    ...(id?.kind === 'bootstrap' ? { bootstrapId: id.bootstrapId } : {}),
  };
}

/** Topics and client ids from the wire go into logs truncated. */
function clip(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}…` : value;
}

/**
 * Starts the embedded MQTT 3.1.1 broker (aedes) on a mutual-TLS listener.
 * There is no plaintext listener. Identity comes from the client certificate
 * only (see `classifyPeer`); access is per identity (see `accessPolicyFor`);
 * packet size, message rate and per-IP bootstrap connection rate are limited.
 */
export async function startBroker(options: BrokerOptions): Promise<Broker> {
  const limits: BrokerLimits = { ...DEFAULT_BROKER_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`broker limit ${name} must be a positive number, got ${value}`);
  }
  const log = options.logger.child({ component: 'broker' });
  const caCertificate = new X509Certificate(options.caCertificatePem);
  const anchor: TrustAnchor = { certificate: caCertificate, publicKey: caCertificate.publicKey };
  const ownRevocations = new MemoryRevocationList();
  const revocationLists: RevocationList[] = options.revocations ? [ownRevocations, options.revocations] : [ownRevocations];
  const ipLimiter = new KeyedRateLimiter(limits.bootstrapConnectionsPerMinute / 60, limits.bootstrapConnectionsPerMinute);
  const devices = new Map<string, Session>();
  const bootstraps = new Map<string, Session>();
  const handlers = new Set<MessageHandler>();
  const subscribeHandlers = new Set<SubscribeHandler>();
  const sockets = new Set<Socket>();

  /** Logs the reason once and returns the error that makes aedes drop the client. */
  function closeWith(session: Session, reason: RefusalReason, extra: Record<string, unknown> = {}): Error {
    if (session.closing === undefined) {
      session.closing = reason;
      log.warn({ reason, ...logFields(session), ...extra }, 'client disconnected');
    }
    return new Error(reason);
  }

  function closeSession(session: Session, reason: RefusalReason): void {
    if (session.closing !== undefined) return;
    session.closing = reason;
    log.warn({ reason, ...logFields(session) }, 'session closed by server');
    session.client?.close();
  }

  const aedes = new Aedes({
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: 30_000,
    // Packets received before CONNACK are queued in memory; with the pre-auth
    // packet limit this bounds an unauthenticated connection to a few MiB.
    queueLimit: 16,
    // aedes passes this to its mqemitter: past `concurrency` messages in
    // flight, later ones wait in an unbounded queue that is drained by
    // synchronous recursion when deliveries finish, and a queue of a few
    // thousand overflows the stack (RangeError, the server dies; seen with
    // 10,000 devices connecting while slow readers held the 100 default
    // slots; mcollina/mqemitter#204). The limit bounds nothing the queue does
    // not hold anyway: what is in flight is bounded by the per-client publish
    // limits and the fleet size. So no message ever queues.
    concurrency: 1_000_000,
    // Server publications go through aedes.publish and bypass these hooks.
    preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) {
      const session = sessionOf(client);
      if (session === undefined) return callback(new Error('connection without session'), false);
      // Sessions are not persisted: an offline device must not accumulate queued
      // messages in broker memory. CONNACK then reports sessionPresent = 0.
      packet.clean = true;
      session.will = packet.will ? { topic: packet.will.topic, retain: packet.will.retain === true } : undefined;
      callback(null, true);
    },
    authenticate(client, _username, _password, callback) {
      const session = sessionOf(client);
      const identity = session?.identity;
      // A refused certificate was logged with its reason at the handshake; CONNACK 5 tells the client.
      if (session === undefined || identity === undefined || session.access === undefined) {
        return callback(connackError(5, 'not authorized'), null);
      }
      if (client.id !== clientIdOf(identity)) {
        log.warn({ reason: 'client-id-mismatch', clientId: clip(client.id), ...logFields(session) }, 'client refused');
        return callback(connackError(2, 'client id must equal the certificate identity'), null);
      }
      const will = session.will;
      if (will !== undefined && (will.retain || !session.access.publish.has(will.topic))) {
        log.warn({ reason: 'will-denied', willTopic: clip(will.topic), ...logFields(session) }, 'client refused');
        return callback(connackError(5, 'will not allowed'), null);
      }
      if (identity.kind === 'device' && anyRevoked(revocationLists, identity.serial, identity.deviceId)) {
        log.warn({ reason: 'revoked', ...logFields(session) }, 'client refused');
        return callback(connackError(5, 'revoked'), null);
      }
      // Registered before CONNACK is written, so that once a client sees CONNACK
      // the server can already find (and revoke) it; removed when the connection closes.
      // aedes keeps `subscriptions` on every client; its typings leave it out.
      session.client = client as Client & Pick<SessionClient, 'subscriptions'>;
      if (client.conn instanceof GuardedConnection) {
        client.conn.scanner.setPacketLimit(identity.kind === 'device' ? limits.maxPacketBytes : limits.maxBootstrapPacketBytes);
      }
      const map = identity.kind === 'device' ? devices : bootstraps;
      const key = clientIdOf(identity);
      map.set(key, session);
      client.conn.once('close', () => {
        if (map.get(key) === session) map.delete(key);
        log.debug(logFields(session), 'client disconnected');
      });
      log.debug(logFields(session), 'client connected');
      callback(null, true);
    },
    authorizePublish(client, packet: PublishPacket, callback) {
      const session = sessionOf(client);
      if (session === undefined || session.access === undefined || session.publishBucket === undefined) {
        return callback(new Error('not authorized'));
      }
      if (session.closing !== undefined) return callback(new Error(session.closing));
      if (!session.publishBucket.take(performance.now())) return callback(closeWith(session, 'rate-exceeded'));
      if (packet.retain) return callback(closeWith(session, 'retain-denied', { topic: clip(packet.topic) }));
      if (!session.access.publish.has(packet.topic)) return callback(closeWith(session, 'publish-denied', { topic: clip(packet.topic) }));
      callback(null);
    },
    authorizeSubscribe(client, subscription: Subscription, callback) {
      const session = sessionOf(client);
      if (session === undefined || session.access === undefined || session.publishBucket === undefined) {
        return callback(new Error('not authorized'));
      }
      if (!session.publishBucket.take(performance.now())) return callback(closeWith(session, 'rate-exceeded'), null);
      if (!session.access.subscribe.has(subscription.topic)) {
        log.warn({ reason: 'subscribe-denied', filter: clip(subscription.topic), ...logFields(session) }, 'subscription refused');
        return callback(null, null); // SUBACK 0x80 (MQTT 3.1.1 §3.9.3)
      }
      callback(null, subscription);
    },
    authorizeForward(client, packet: AedesPublishPacket) {
      // Defence in depth: deliver only topics this client may subscribe to, whatever the subscription table says.
      const session = sessionOf(client);
      return session?.access?.subscribe.has(packet.topic) === true && session.closing === undefined ? packet : null;
    },
  });
  // A client's publishes are delivered straight to the handlers. A client may
  // subscribe only to its own inbound topics, by exact name (access.ts), and no
  // client's publish topic is another's inbound topic, so aedes' routing of them
  // (a packet copy, mqemitter's topic match, a series of callbacks, its
  // 'publish' event) can only ever find the server: about 3 % of the event loop
  // per verdict. What a client may publish is still judged first, by
  // `authorizePublish` (live publishes) or `authenticate` (the will). The
  // server's own publications (no client) and aedes' $SYS messages are routed.
  const route = aedes.publish.bind(aedes) as unknown as RoutePublish;
  (aedes as unknown as { publish: RoutePublish }).publish = (packet, client, done) => {
    const identity = client === null || client === undefined || packet.topic.startsWith('$SYS') ? undefined : sessionOf(client)?.identity;
    if (identity === undefined) return route(packet, client, done);
    deliver({ identity, topic: packet.topic, payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload });
    done?.();
  };

  function deliver(message: InboundMessage): void {
    for (const handler of handlers) {
      try {
        handler(message);
      } catch (err) {
        log.error({ err, topic: message.topic }, 'message handler threw');
      }
    }
  }

  aedes.on('subscribe', (subscriptions: Subscription[], client: Client) => {
    const identity = sessionOf(client)?.identity;
    if (identity === undefined || subscribeHandlers.size === 0) return;
    for (const s of subscriptions) {
      // aedes sets a refused subscription's qos to the SUBACK failure code 0x80.
      if ((s.qos as number) === 128) continue;
      for (const handler of subscribeHandlers) {
        try {
          handler(identity, s.topic);
        } catch (err) {
          log.error({ err, topic: s.topic }, 'subscribe handler threw');
        }
      }
    }
  });
  aedes.on('clientError', (client: Client, err: Error) => log.debug({ clientId: clip(client.id ?? ''), err: err.message }, 'client error'));
  aedes.on('connectionError', (_client: Client, err: Error) => log.debug({ err: err.message }, 'connection error'));
  // aedes emits 'error' for internal failures (persistence); its typings omit the event.
  (aedes as EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  await aedes.listen();

  const server = createServer({
    key: options.serverKeyPem,
    cert: options.serverCertificatePem,
    ca: [options.caCertificatePem],
    requestCert: true,
    // Self-signed bootstrap certificates must get through the handshake;
    // classifyPeer makes every trust decision (and consults OpenSSL's verdict for devices).
    rejectUnauthorized: false,
    minVersion: options.tlsMinVersion ?? 'TLSv1.3',
    handshakeTimeout: limits.handshakeTimeoutMs,
  });
  server.on('connection', (socket: Socket) => {
    // Without TCP_NODELAY each small MQTT packet (CONNACK, PUBACK) waits for
    // the peer's delayed ACK (~40 ms) under Nagle's algorithm.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    log.debug({ ip: normalizeIp(socket.remoteAddress), err: err.message }, 'TLS handshake failed');
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const certificate = socket.getPeerX509Certificate();
    const peer = {
      ip: normalizeIp(socket.remoteAddress),
      ...(certificate ? { subject: oneLine(certificate.subject), fingerprint: certificate.fingerprint256 } : {}),
    };
    const authorizationError = socket.authorizationError as unknown;
    const verdict = classifyPeer(
      certificate,
      { authorized: socket.authorized, error: authorizationError === undefined || authorizationError === null ? undefined : String(authorizationError) },
      anchor,
      revocationLists,
      Date.now(),
    );
    if (!verdict.ok || verdict.identity.kind === 'bootstrap') {
      const take = ipLimiter.take(peer.ip, performance.now());
      if (!take.allowed) {
        if (take.firstRefusal) log.warn({ reason: 'connection-rate-exceeded', ...peer }, 'client refused');
        socket.destroy();
        return;
      }
    }
    if (!verdict.ok) log.warn({ reason: verdict.reason, detail: verdict.detail, ...peer }, 'client refused');
    const identity = verdict.ok ? verdict.identity : undefined;
    const session: Session = {
      identity,
      refusal: verdict.ok ? undefined : verdict.reason,
      access: identity && accessPolicyFor(identity),
      publishBucket: identity && new TokenBucket(limits.publishRatePerSecond, limits.publishBurst, performance.now()),
      peer,
      will: undefined,
      client: undefined,
      closing: undefined,
    };
    // MQTT 3.1.1 §3.1.4 lets a client send packets before CONNACK; aedes queues
    // them (up to queueLimit) until the session is authenticated. Until then they
    // are held to the smaller bootstrap limit, so an unauthenticated queue stays
    // small; `authenticate` raises the limit to the identity's.
    const preAuthLimit = identity === undefined ? limits.maxConnectPacketBytes : Math.min(limits.maxBootstrapPacketBytes, limits.maxPacketBytes);
    const scanner = new MqttFrameScanner(limits.maxConnectPacketBytes, preAuthLimit);
    const connection = new GuardedConnection(socket, session, scanner, (violation) => {
      if (session.closing !== undefined) return;
      session.closing = violation.reason;
      log.warn({ ...violation, ...logFields(session) }, 'client disconnected');
    });
    aedes.handle(connection);
  });
  server.on('error', (err) => log.error({ err }, 'TLS server error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '::', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const sweep = setInterval(() => ipLimiter.sweep(performance.now()), 60_000);
  sweep.unref();

  function find(ref: IdentityRef): Session | undefined {
    return ref.kind === 'device' ? devices.get(ref.deviceId) : bootstraps.get(ref.bootstrapId);
  }

  return {
    port,
    get connectedCount() {
      return devices.size + bootstraps.size;
    },
    get connectedDeviceCount() {
      return devices.size;
    },
    get listening() {
      return server.listening;
    },
    publish(topic, payload, publishOptions = {}) {
      const packet: PublishPacket = {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        qos: publishOptions.qos ?? 1,
        retain: false,
        dup: false,
      };
      return new Promise((resolve, reject) => aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
    },
    sendToDevice(deviceId, topic, payload) {
      // Straight to the connection: one device can be the only subscriber of its own
      // topics (access.ts), so aedes' routing (topic matching, per-subscriber packet
      // objects, a setImmediate per delivery) would only find this one client.
      const session = devices.get(deviceId);
      const client = session?.client;
      if (client === undefined || session!.closing !== undefined) return false;
      if (client.subscriptions[topic] === undefined || session!.access?.subscribe.has(topic) !== true) return false;
      // Through the connection aedes writes to, so it stays in order with aedes' own packets.
      const packet = encodePublishQos0(topic, payload);
      if (client.conn instanceof GuardedConnection) client.conn.send(packet);
      else client.conn.write(packet);
      return true;
    },
    onMessage(handler) {
      handlers.add(handler);
      return () => {
        handlers.delete(handler);
      };
    },
    onSubscribe(handler) {
      subscribeHandlers.add(handler);
      return () => {
        subscribeHandlers.delete(handler);
      };
    },
    disconnect(ref) {
      const session = find(ref);
      if (session === undefined) return false;
      closeSession(session, 'disconnected-by-server');
      return true;
    },
    revokeDevice(deviceId, serials) {
      const list = [...serials];
      ownRevocations.revoke(deviceId, list);
      const revokedSerials = new Set(list.map((s) => normalizeSerial(s)));
      let closed = 0;
      for (const session of devices.values()) {
        const identity = session.identity;
        if (identity?.kind === 'device' && (identity.deviceId === deviceId || revokedSerials.has(identity.serial))) {
          closeSession(session, 'revoked');
          closed++;
        }
      }
      log.info({ deviceId, serials: list.length, sessionsClosed: closed }, 'device revoked');
      return closed;
    },
    reinstateDevice(deviceId) {
      ownRevocations.reinstate(deviceId);
      log.info({ deviceId }, 'device reinstated');
    },
    isConnected(ref) {
      return find(ref) !== undefined;
    },
    async close() {
      clearInterval(sweep);
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await serverClosed;
    },
  };
}
