import { decodeEnrollResult, parseTopic, ProtocolError, sharedFilter, serverFilters, topics } from '@vigil/protocol';
import type { Broker, InboundMessage, MessageHandler, SubscribeHandler } from '../broker/index.js';
import type { IdentityRef } from '../broker/index.js';
import type { Logger } from '../log.js';
import { devicePages, type Store } from '../store/index.js';
import type { CrlReloader } from './crl-reload.js';
import { DeviceSerials } from './device-serials.js';
import { DynsecClient, DynsecError, LINK_LOST } from './dynsec/client.js';
import { DeviceAccess, type DesiredAccess } from './dynsec/device-access.js';
import { DYNSEC_RESPONSE_TOPIC } from './dynsec/messages.js';
import { REPLICA_FILTER, REPLICA_TOPIC_PREFIX, ReplicaMembership } from './membership.js';
import { MqttLink } from './mqtt-link.js';
import type { VerifierCredentials } from './verifier-credentials.js';

export interface ExternalBrokerOptions {
  /** Vigil's own listener, kept for bootstrap clients (enrollment) only. */
  readonly bootstrap: Broker;
  readonly host: string;
  readonly port: number;
  /** CA bundle (PEM) of the external broker's server certificate. */
  readonly brokerCaPem: string;
  readonly credentials: VerifierCredentials;
  readonly replicaName: string;
  readonly shareGroup: string;
  readonly tlsMinVersion: 'TLSv1.3' | 'TLSv1.2';
  readonly heartbeatMs: number;
  /** Manage device access through the dynamic-security plugin. */
  readonly dynamicSecurity: boolean;
  readonly store: Store;
  readonly crl: CrlReloader;
  readonly log: Logger;
  /** Runs last when the broker closes (releases what `start` made for it). */
  readonly onClose?: () => Promise<void>;
  /** How long `start` waits for the first session (default 30 s). */
  readonly connectTimeoutMs?: number;
}

/** How often the broker's device access is brought in line with the store even without a reconnect. */
const RECONCILE_EVERY_MS = 10 * 60_000;
/** After a failed dynamic-security change, a full reconciliation is tried again after this. */
const RETRY_MS = 10_000;

/**
 * The `Broker` the server's components use, when devices connect to an
 * existing broker instead of Vigil's own (see README.md):
 *
 * - device traffic goes over an MQTT 5 client link: evidence and challenge
 *   requests arrive through shared subscriptions (`$share/<group>/...`),
 *   so each message reaches exactly one replica; challenges, results and
 *   revocation events are published on it;
 * - enrollment stays on Vigil's own listener (`bootstrap`), which is the
 *   only place a self-signed bootstrap certificate is accepted; device
 *   messages there are refused (devices attest through the external broker);
 * - a device's access at the broker follows the store: admitted when its
 *   enrollment result is published, excluded on revocation, and the whole
 *   fleet reconciled on every (re)connection and every ten minutes.
 *
 * Identity, the trust boundary of this mode: the device id of a message is
 * the device-id level of its topic. That holds because the broker lets a
 * client publish only to the topics of the device its certificate names:
 * `use_identity_as_username` makes the certificate CN (the device id the
 * fleet CA wrote) the username, and the only publish rights a device has
 * are its own `vigil:device:<id>` role's. So the broker, not this process,
 * vouches for the mapping certificate → device id; a broker configured
 * otherwise breaks it (see deploy/mosquitto/mosquitto.conf).
 */
export class ExternalBroker implements Broker {
  readonly #o: ExternalBrokerOptions;
  readonly #log: Logger;
  readonly #link: MqttLink;
  readonly #dynsec: DynsecClient;
  readonly #access: DeviceAccess;
  readonly #membership: ReplicaMembership;
  readonly #serials: DeviceSerials;
  readonly #handlers = new Set<MessageHandler>();
  readonly #subscribeHandlers = new Set<SubscribeHandler>();
  /** Devices this replica's verifier schedules (all at its start, then as they are introduced); undefined before the first pass. */
  #scheduled: Set<string> | undefined;
  #discovering: Promise<void> | undefined;
  #discoverTimer: NodeJS.Timeout | undefined;
  readonly #unlistenBootstrap: () => void;
  /** Per-device ordering of messages waiting for their serial. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Dynamic-security work, one change at a time. */
  #accessQueue: Promise<unknown> = Promise.resolve();
  readonly #warnedDevices = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #intake = false;

  private constructor(options: ExternalBrokerOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'external-broker' });
    this.#membership = new ReplicaMembership(options.replicaName, options.heartbeatMs);
    this.#serials = new DeviceSerials(options.store);
    const subscriptions = [REPLICA_FILTER, ...(options.dynamicSecurity ? [DYNSEC_RESPONSE_TOPIC] : [])];
    const intake = [sharedFilter(options.shareGroup, serverFilters.evidence), sharedFilter(options.shareGroup, serverFilters.challengeRequests)];
    this.#link = new MqttLink({
      host: options.host,
      port: options.port,
      caPem: options.brokerCaPem,
      certificatePem: options.credentials.certificatePem,
      privateKeyPem: options.credentials.privateKeyPem,
      clientId: options.credentials.username,
      tlsMinVersion: options.tlsMinVersion,
      subscriptions,
      intake,
      will: { topic: this.#membership.topic, payload: this.#membership.down() },
      keepaliveSeconds: Math.max(5, Math.min(60, Math.ceil((options.heartbeatMs * 3) / 1000))),
      log: this.#log,
      onMessage: (topic, payload) => this.#onLinkMessage(topic, payload),
      onOnline: () => this.#onOnline(),
      // Answers to commands in flight will not come on the next session.
      onOffline: () => this.#dynsec.abandon(LINK_LOST),
    });
    this.#dynsec = new DynsecClient((topic, payload) => this.#link.publish(topic, payload, 1));
    this.#access = new DeviceAccess(this.#dynsec, this.#log);
    this.#unlistenBootstrap = options.bootstrap.onMessage((m) => this.#onBootstrapMessage(m));
  }

  /** Connects (waiting for the first session) and starts the replica heartbeat and the CRL hand-over. */
  static async start(options: ExternalBrokerOptions): Promise<ExternalBroker> {
    const broker = new ExternalBroker(options);
    try {
      await broker.#link.waitOnline(options.connectTimeoutMs ?? 30_000);
      await options.crl.start();
    } catch (err) {
      await broker.close();
      throw err;
    }
    broker.#heartbeat = setInterval(() => void broker.#beat(), options.heartbeatMs);
    broker.#heartbeat.unref();
    broker.#reconcileTimer = setInterval(() => broker.#scheduleReconcile(), RECONCILE_EVERY_MS);
    broker.#reconcileTimer.unref();
    // Before the components start: the verifier's own start schedules every device enrolled so far.
    await broker.#discover();
    broker.#discoverTimer = setInterval(() => void broker.#discover(), Math.max(5000, 10 * options.heartbeatMs));
    broker.#discoverTimer.unref();
    broker.#log.info(
      { replica: options.replicaName, username: options.credentials.username, broker: `${options.host}:${options.port}`, shareGroup: options.shareGroup, dynamicSecurity: options.dynamicSecurity },
      'external broker mode: devices attest through the external broker, enrollment on the bootstrap listener',
    );
    return broker;
  }

  // ── Broker ─────────────────────────────────────────────────────────────

  /** The bootstrap (enrollment) listener's port. */
  get port(): number {
    return this.#o.bootstrap.port;
  }

  /** Bootstrap clients on the enrollment listener (devices are the external broker's to count). */
  get connectedCount(): number {
    return this.#o.bootstrap.connectedCount - this.#o.bootstrap.connectedDeviceCount;
  }

  /** Unknown to a client of the external broker: 0 (the broker's own metrics count them). */
  get connectedDeviceCount(): number {
    return 0;
  }

  /** The enrollment listener accepts connections, the external broker session is up and this replica takes its share of the work. */
  get listening(): boolean {
    return this.#o.bootstrap.listening && this.#link.online && this.#intake;
  }

  /**
   * Starts taking this replica's share of evidence and challenge requests
   * (the shared subscriptions). Called once every component is running: a
   * message the broker handed over before the verifier listened would be
   * lost, since the broker gives each message to one replica only.
   */
  async startIntake(): Promise<void> {
    this.#intake = true;
    await this.#link.openIntake();
    this.#log.info({ shareGroup: this.#o.shareGroup }, 'taking a share of the evidence and challenge requests');
  }

  /** Stops taking new work (before the components close), so the broker hands it to the other replicas instead. */
  async stopIntake(): Promise<void> {
    if (!this.#intake) return;
    this.#intake = false;
    await this.#link.closeIntake();
  }

  /** The live replicas (this one included), as far as this replica knows. */
  get replicas(): readonly string[] {
    return this.#membership.live();
  }

  async publish(topic: string, payload: Uint8Array | string, options: { qos?: 0 | 1 | 2 } = {}): Promise<void> {
    const where = parseTopic(topic);
    if (where !== null && where.kind.startsWith('enroll-')) {
      if (where.kind === 'enroll-result') await this.#beforeEnrollResult(payload);
      return this.#o.bootstrap.publish(topic, payload, options);
    }
    await this.#link.publish(topic, payload, options.qos === 0 ? 0 : 1);
  }

  /**
   * QoS 0 through the external broker (which routes it to the device's own
   * subscription). Sessions are clean there too, so QoS 1 would keep nothing
   * more; see `Broker.sendToDevice`.
   */
  sendToDevice(_deviceId: string, topic: string, payload: Uint8Array): boolean {
    void this.#link.publish(topic, payload, 0).catch((err: unknown) => this.#log.warn({ err, topic }, 'could not send to the device'));
    return true;
  }

  onMessage(handler: MessageHandler): () => void {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  /**
   * Bootstrap clients' subscriptions, from the enrollment listener. An
   * external broker does not tell its clients who subscribes, so for devices
   * this reports one thing instead: a device enrolled after this replica's
   * verifier started, once this replica owns its challenge schedule (see
   * `#discover`), is announced as subscribed to its challenges — which
   * makes the verifier schedule it and challenge it once now.
   */
  onSubscribe(handler: SubscribeHandler): () => void {
    const unsubscribe = this.#o.bootstrap.onSubscribe(handler);
    this.#subscribeHandlers.add(handler);
    return () => {
      unsubscribe();
      this.#subscribeHandlers.delete(handler);
    };
  }

  disconnect(ref: IdentityRef): boolean {
    if (ref.kind === 'bootstrap') return this.#o.bootstrap.disconnect(ref);
    this.#o.bootstrap.disconnect(ref);
    if (!this.#o.dynamicSecurity) return false;
    void this.#accessWork(`disconnect ${ref.deviceId}`, () => this.#access.kick(ref.deviceId));
    return true;
  }

  /**
   * Cuts a device off at the external broker (its Vigil roles removed and
   * its client disabled, which ends its live session) and on the enrollment
   * listener. The dynamic-security change is sent at once but not awaited
   * (this interface is synchronous); if it fails, a reconciliation from the
   * store, where the revocation is already committed, retries it. Returns
   * 0: sessions at the external broker are not counted here.
   */
  revokeDevice(deviceId: string, serials: Iterable<string>): number {
    this.#o.bootstrap.revokeDevice(deviceId, serials);
    this.#serials.forget(deviceId);
    if (this.#o.dynamicSecurity) void this.#accessWork(`revoke ${deviceId}`, () => this.#access.exclude(deviceId));
    return 0;
  }

  /** The device may enroll again; its broker access comes back with its new certificate (the enrollment result), not before. */
  reinstateDevice(deviceId: string): void {
    this.#o.bootstrap.reinstateDevice(deviceId);
    this.#serials.forget(deviceId);
  }

  /**
   * Bootstrap clients: connected to the enrollment listener. Devices: a
   * client of the external broker cannot see who is connected, so this
   * answers the question the verifier's challenge schedule asks: should
   * this replica challenge the device now? True while the link is up and
   * this replica is the device's schedule owner among the live replicas
   * (see `ReplicaMembership`). A device that (re)connects asks for a
   * challenge itself, which whichever replica receives it answers. False
   * until this replica takes its share of the work (`startIntake`): while
   * it starts, the devices it will own are still served by the others, and
   * challenging them all at once then would put a second challenge beside
   * the one each may be answering.
   */
  isConnected(ref: IdentityRef): boolean {
    if (ref.kind === 'bootstrap') return this.#o.bootstrap.isConnected(ref);
    return this.#intake && this.#link.online && this.#membership.owns(ref.deviceId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#reconcileTimer);
    clearInterval(this.#discoverTimer);
    clearTimeout(this.#retryTimer);
    this.#o.crl.stop();
    this.#unlistenBootstrap();
    await this.#accessQueue.catch(() => undefined);
    this.#dynsec.abandon('the server is stopping');
    await this.#link.close({ topic: this.#membership.topic, payload: this.#membership.down() });
    await this.#o.bootstrap.close();
    await this.#o.onClose?.();
  }

  // ── inbound ────────────────────────────────────────────────────────────

  #onLinkMessage(topic: string, payload: Buffer): void {
    if (topic === DYNSEC_RESPONSE_TOPIC) return this.#dynsec.handleResponse(payload);
    if (topic.startsWith(REPLICA_TOPIC_PREFIX)) {
      if (this.#membership.handle(topic, payload)) {
        this.#log.info({ replicas: this.#membership.live() }, 'live replicas changed');
        void this.#discover();
      }
      return;
    }
    const where = parseTopic(topic);
    if (where === null || (where.kind !== 'device-evidence' && where.kind !== 'device-challenge-request')) {
      this.#log.debug({ topic: topic.slice(0, 200) }, 'message on an unexpected topic ignored');
      return;
    }
    // The trust boundary of this mode (see the class comment): the topic's device id, as the broker's ACL guarantees it.
    const deviceId = where.deviceId;
    const previous = this.#chains.get(deviceId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const serial = await this.#serials.serialOf(deviceId).catch((err: unknown) => {
        this.#log.error({ err, deviceId }, 'cannot look up the certificate of a device');
        return '';
      });
      this.#dispatch({ identity: { kind: 'device', deviceId, serial }, topic, payload });
    });
    this.#chains.set(deviceId, next);
    void next.finally(() => {
      if (this.#chains.get(deviceId) === next) this.#chains.delete(deviceId);
    });
  }

  #onBootstrapMessage(m: InboundMessage): void {
    if (m.identity.kind === 'bootstrap') return this.#dispatch(m);
    // A device on the enrollment listener: its challenges and results flow through the external broker, so it would wait forever.
    const deviceId = m.identity.deviceId;
    if (!this.#warnedDevices.has(deviceId)) {
      if (this.#warnedDevices.size > 10_000) this.#warnedDevices.clear();
      this.#warnedDevices.add(deviceId);
      this.#log.warn({ deviceId }, 'a device connected to the enrollment listener; devices attest through the external broker: disconnected');
    }
    this.#o.bootstrap.disconnect({ kind: 'device', deviceId });
  }

  #dispatch(m: InboundMessage): void {
    for (const h of this.#handlers) {
      try {
        h(m);
      } catch (err) {
        this.#log.error({ err, topic: m.topic }, 'message handler threw');
      }
    }
  }

  // ── device access ──────────────────────────────────────────────────────

  /** An enrollment succeeded (committed in the store): the device gets its broker access before it learns its certificate. */
  async #beforeEnrollResult(payload: Uint8Array | string): Promise<void> {
    if (!this.#o.dynamicSecurity) return;
    const result = decodeEnrollResult(typeof payload === 'string' ? Buffer.from(payload) : payload);
    if (result instanceof ProtocolError || !result.ok) return;
    const deviceId = result.deviceId;
    this.#serials.forget(deviceId);
    // A re-enrolled device's earlier certificates (revoked by whichever replica) must be refused at the handshake before its client is enabled again.
    await this.#o.crl.publish();
    await this.#accessWork(`admit ${deviceId}`, () => this.#access.admit(deviceId));
    // If this replica owns the new device's schedule, it is scheduled at once (after the result is out).
    setImmediate(() => void this.#discover());
  }

  /**
   * Keeps the verifier's challenge schedule covering every device this
   * replica owns. The verifier schedules the devices enrolled when it
   * starts; in embedded mode it learns of later ones when they subscribe,
   * which an external broker does not report. So the store is read now and
   * then (every ten heartbeats, at least 5 s; and when the live replicas
   * change or this replica enrolled a device), and a device this replica
   * owns but has not scheduled yet is announced as subscribed
   * (`onSubscribe`). The first pass, before the verifier starts, only
   * records what the verifier will schedule itself.
   */
  #discover(): Promise<void> {
    this.#discovering ??= (async () => {
      try {
        const ids: string[] = [];
        for await (const page of devicePages(this.#o.store, { revoked: false })) for (const d of page) ids.push(d.id);
        if (this.#scheduled === undefined) {
          this.#scheduled = new Set(ids);
          return;
        }
        // A revoked device leaves the schedules; if it is reinstated and enrolls again, it is new here.
        const current = new Set(ids);
        for (const id of this.#scheduled) if (!current.has(id)) this.#scheduled.delete(id);
        for (const deviceId of ids) {
          if (this.#scheduled.has(deviceId) || !this.#membership.owns(deviceId)) continue;
          this.#scheduled.add(deviceId);
          for (const h of this.#subscribeHandlers) {
            try {
              h({ kind: 'device', deviceId, serial: '' }, topics.deviceChallenge(deviceId));
            } catch (err) {
              this.#log.error({ err, deviceId }, 'subscribe handler threw');
            }
          }
        }
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'could not read the devices to schedule');
      } finally {
        this.#discovering = undefined;
      }
    })();
    return this.#discovering;
  }

  /** Runs dynamic-security work one at a time; a failure is logged and a reconciliation scheduled. */
  #accessWork(what: string, work: () => Promise<unknown>): Promise<void> {
    const run = this.#accessQueue.then(work, work);
    this.#accessQueue = run.catch(() => undefined);
    return run.then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof DynsecError && err.reason === LINK_LOST) {
          // The broker restarted our session (e.g. our own rights changed): the reconnection reconciles everything.
          this.#log.info({ what }, 'the broker session restarted during a dynamic-security change; reconciling after reconnecting');
          return;
        }
        this.#log.error({ err: (err as Error).message, what }, 'dynamic-security change failed; will reconcile from the store');
        this.#retryReconcile();
      },
    );
  }

  #onOnline(): void {
    void this.#beat();
    this.#scheduleReconcile();
  }

  async #beat(): Promise<void> {
    if (!this.#link.online || this.#closed) return;
    await this.#link.publish(this.#membership.topic, this.#membership.up(), 1).catch((err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'heartbeat not sent');
    });
  }

  #retryReconcile(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#scheduleReconcile();
    }, RETRY_MS);
    this.#retryTimer.unref();
  }

  #scheduleReconcile(): void {
    if (!this.#o.dynamicSecurity || this.#closed || !this.#link.online) return;
    void this.#accessWork('reconcile', async () => {
      const roles = await this.#access.ensureVerifierRoles(this.#o.credentials.username);
      // Our own session restarts with the new rights; the reconnection reconciles.
      if (roles.selfChanged) return;
      const report = await this.#access.reconcile(() => this.#desiredAccess());
      const level = report.admitted + report.excluded + report.commandsFailed > 0 ? 'info' : 'debug';
      this.#log[level]({ ...report }, 'device access at the broker reconciled with the store');
      if (report.commandsFailed > 0) this.#retryReconcile();
    });
  }

  /**
   * What the store says each device may do: connect if it is not revoked
   * and holds a valid certificate (a reinstated device gets access back
   * only with the certificate of its re-enrollment).
   */
  async #desiredAccess(): Promise<DesiredAccess[]> {
    const now = Date.now();
    const out: DesiredAccess[] = [];
    for await (const page of devicePages(this.#o.store)) {
      for (const d of page) {
        let enabled = !d.revoked;
        if (enabled && d.reenrollAllowed) {
          enabled = (await this.#o.store.listCertificates(d.id)).some((c) => c.revokedAt === null && c.notAfter > now);
        }
        out.push({ deviceId: d.id, enabled });
      }
    }
    return out;
  }
}
