import { type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import {
  type AttestationChallenge,
  type AttestationResult,
  type ChallengeRequestReason,
  decodeChallenge,
  decodeResult,
  decodeRevocation,
  encodeChallengeRequest,
  encodeEvidence,
  overallStatus,
  parseTopic,
  ProtocolError,
  topics,
} from '@vigil/protocol';
import { ExitCode } from '../cli/exit-codes.js';
import type { AgentConfig } from '../config/index.js';
import { parseServerUrl } from '../config/server-url.js';
import { EnrollmentError } from '../enroll/errors.js';
import { acceptIssuedCertificate } from '../enroll/issued-certificate.js';
import { AGENT_VERSION } from '../enroll/facts.js';
import type { Logger } from '../log.js';
import { ensureStateDir, type EnrolledAk, type EnrolledIdentity, loadEnrolledAk, loadEnrolledIdentity, readEnrollment, saveEnrollment, StateError } from '../state/index.js';
import { type FileFingerprint, ModelWatcher } from '../watch/index.js';
import type { Attester, TpmContext } from './attester.js';
import { Backoff } from './backoff.js';
import { ChallengeInterval } from './challenge-interval.js';
import { measuredFilesRecord, readMeasuredFiles, trustedFingerprints, writeMeasuredFiles } from './measured-files.js';
import { readRevocationMarker, writeRevocationMarker } from './revocation-marker.js';
import { judgeFleetEvent, revocationFromRefusal, revocationFromResult, type RevocationNotice } from './revocation.js';
import { runRevokedHook } from './revoked-hook.js';
import { type ConnectFailure, ServerConnection } from './server-connection.js';
import { readStatusFile } from './status-file.js';
import { loadWithRoom } from './stale-objects.js';
import { StatusReporter } from './status-reporter.js';
import type { AgentStatus } from './status-schema.js';
import { type CounterChange, TpmLink, TpmUnavailableError } from './tpm-link.js';

/** How the daemon ended: the process exit code and why. */
export interface DaemonExit {
  readonly exitCode: ExitCode;
  readonly reason: string;
}

export interface DaemonOptions {
  readonly config: AgentConfig;
  readonly log: Logger;
  /** Makes the attestation work (model measurement, evidence) for an enrolled device. */
  readonly attester: (context: { readonly config: AgentConfig; readonly deviceId: string; readonly log: Logger }) => Attester;
}

/** Challenges waiting for the TPM beyond this are dropped, oldest first (a server flood must not queue without bound). */
const MAX_QUEUED_CHALLENGES = 4;
/** Challenge ids remembered to answer each once (a few minutes of challenges at the fastest schedule). */
const SEEN_CHALLENGES = 256;
/** A revocation by refusal counts only while our certificate has at least this long to run (clock skew margin). */
const VALIDITY_MARGIN_MS = 5 * 60_000;

class Stop {
  constructor(readonly exit: DaemonExit | 'reenroll') {}
}

/**
 * The device agent daemon: enrolls when it holds no certificate, keeps one
 * mutual-TLS MQTT session to the server, answers every challenge, measures
 * and watches the model files, follows the TPM through resets and outages,
 * and stops for good, running the operator's hook once, when the device is
 * revoked. See README.md for the life cycle.
 */
export class AgentDaemon {
  readonly #config: AgentConfig;
  readonly #log: Logger;
  readonly #makeAttester: DaemonOptions['attester'];
  #finish: (stop: Stop) => void = () => undefined;
  #stopping = false;
  /** Ends an enrollment attempt or its backoff wait at once (set while enrolling). */
  #cancelEnrollment: () => void = () => undefined;

  // Per session (one enrollment).
  #status: StatusReporter | undefined;
  #link: TpmLink<EnrolledAk> | undefined;
  #connection: ServerConnection | undefined;
  #watcher: ModelWatcher | undefined;
  #attester: Attester | undefined;
  #identity: EnrolledIdentity | undefined;
  #certificateNotAfter = 0;
  #trustedKeys: KeyObject[] = [];
  #caPem = '';
  #bootPending = true;
  #startingModels = false;
  #remeasuring = false;
  #recording: Promise<void> = Promise.resolve();
  #challengeQueue: AttestationChallenge[] = [];
  #answering = false;
  #intervals = new ChallengeInterval();
  #seenChallenges = new Set<string>();
  #revoked = false;

  constructor(options: DaemonOptions) {
    this.#config = options.config;
    this.#log = options.log;
    this.#makeAttester = options.attester;
  }

  /** Runs until stopped, revoked, or a fatal error; never rejects. */
  async run(): Promise<DaemonExit> {
    for (;;) {
      if (this.#stopping) return { exitCode: ExitCode.Ok, reason: 'stopped before start' };
      const done = new Promise<Stop>((resolve) => {
        this.#finish = (stop) => {
          this.#finish = () => undefined;
          resolve(stop);
        };
      });
      this.#startSession().catch((err: unknown) => this.#finish(new Stop(this.#exitFor(err))));
      const stop = await done;
      try {
        await this.#closeSession(stop.exit);
      } catch (err) {
        const exit = this.#exitFor(err);
        if (exit !== 'reenroll') return exit;
      }
      if (stop.exit !== 'reenroll') return stop.exit;
      this.#log.warn('enrolled again after the TPM was cleared; starting over');
    }
  }

  /** Asks the daemon to stop (SIGTERM/SIGINT): exit 0 after a clean disconnect. */
  stop(reason = 'stopped'): void {
    this.#stopping = true;
    this.#cancelEnrollment();
    this.#finish(new Stop({ exitCode: ExitCode.Ok, reason }));
  }

  // ----- start-up -------------------------------------------------------------------------------

  async #startSession(): Promise<void> {
    const config = this.#config;
    const log = this.#log;
    this.#resetSessionState();
    await ensureStateDir(config.state);
    const previous = await readStatusFile(config.state).catch(() => undefined);
    const status = (this.#status = new StatusReporter(config.state, this.#initialStatus(), log));
    const caPem = await readFile(config.ca, 'utf8').catch((err: unknown) => {
      throw new StartupError(ExitCode.Io, `cannot read the fleet CA certificate ${config.ca}: ${(err as Error).message}`);
    });
    this.#trustedKeys = [keyOfCertificate(caPem, config.ca)];
    this.#caPem = caPem;

    if ((await readEnrollment(config.state)) === undefined) await this.#enroll('no device certificate in the state directory yet');
    if (this.#stopping) return;
    const identity = (this.#identity = await loadEnrolledIdentity(config.state));
    const cert = new X509Certificate(identity.certificatePem);
    this.#certificateNotAfter = Date.parse(cert.validTo);
    status.update((s) => {
      s.enrollment = { enrolled: true, deviceId: identity.deviceId, certificateSerial: identity.record.certificate.serial, certificateNotAfter: this.#certificateNotAfter };
    });
    log.info({ deviceId: identity.deviceId, serial: identity.record.certificate.serial, notAfter: cert.validTo }, 'device identity loaded');

    const marker = await readRevocationMarker(config.state);
    if (marker !== undefined && marker.certificateSerial === identity.record.certificate.serial) {
      log.error({ deviceId: marker.deviceId, revokedAt: new Date(marker.at).toISOString(), reason: marker.reason }, 'this device was revoked; not connecting (enroll again after the server reinstates it)');
      await this.#revoke({ source: marker.source, reason: marker.reason }, marker.hookRan);
      return;
    }

    if (this.#stopping) return;
    this.#attester = this.#makeAttester({ config, deviceId: identity.deviceId, log });
    const previousReset = previous?.enrollment.deviceId === identity.deviceId ? previous.tpm.resetCount : undefined;
    this.#link = new TpmLink<EnrolledAk>({
      uri: config.tpm,
      log,
      loadKeys: (tpm) => loadWithRoom(tpm, () => loadEnrolledAk(tpm, config.state, identity.record), log),
      pollMs: config.tpmHealth.pollSeconds * 1000,
      maxRetryDelayMs: config.tpmHealth.maxRetryDelayMs,
      onCounterChange: (change) => this.#onCounterChange(change),
      onReachability: (reachable, error) => this.#onTpmReachability(reachable, error),
    });
    // The first TPM use tells whether the TPM was reset since the last run: then the server gets a `boot` request.
    await this.#useTpm(async ({ counters }) => {
      this.#bootPending = previousReset === undefined || previousReset !== counters.resetCount;
    }).catch((err: unknown) => {
      if (!(err instanceof TpmUnavailableError)) throw err;
    });
    this.#link.start();
    if (this.#stopping || this.#revoked) return;

    this.#watcher = new ModelWatcher({
      roots: config.models,
      followSymlinks: config.watch.followSymlinks,
      debounceMs: config.watch.debounceMs,
      maxDelayMs: config.watch.maxDelayMs,
      sweepMs: config.watch.sweepSeconds * 1000,
      log,
      onChanges: (changes, scan) => this.#measureModels(changes.changed, changes.removed, wholeRoots(config.models, changes.changed, scan.files)),
      onMeasured: (measured) => this.#recordMeasured(measured),
    });
    // Files measured by an earlier run in this TPM boot, unchanged since (fingerprint) and still the latest in the log: not read again.
    const measured = await this.#useTpm(async (ctx) => trustedFingerprints(await readMeasuredFiles(config.state), await this.#attester!.logged(ctx), ctx.counters.resetCount)).catch(
      (err: unknown) => {
        if (err instanceof StateError && err.code === 'tpm-changed') throw err;
        return undefined;
      },
    );
    if (measured !== undefined && measured.size > 0) {
      log.info({ files: measured.size }, 'model files unchanged since the last run: not hashed again');
      status.update((s) => (s.models = { ...s.models, files: measured.size }));
    }
    this.#startingModels = true;
    try {
      await this.#watcher.start(measured);
    } finally {
      this.#startingModels = false;
    }
    if (this.#stopping || this.#revoked) return;

    const server = parseServerUrl(config.server)!;
    this.#connection = new ServerConnection({
      host: server.host,
      port: server.port,
      tlsMinVersion: config.tlsMinVersion,
      connectTimeoutMs: config.reconnect.connectTimeoutSeconds * 1000,
      keepaliveSeconds: config.reconnect.keepaliveSeconds,
      initialDelayMs: config.reconnect.initialDelayMs,
      maxDelayMs: config.reconnect.maxDelayMs,
      subscriptions: [topics.deviceChallenge(identity.deviceId), topics.deviceResult(identity.deviceId), topics.fleetRevocations],
      log,
      credentials: async () => {
        // Re-read each time: a renewed certificate is used from the next connection on.
        const current = (this.#identity = await loadEnrolledIdentity(config.state));
        this.#certificateNotAfter = Date.parse(new X509Certificate(current.certificatePem).validTo);
        return { clientId: current.deviceId, keyPem: current.keyPem, certificatePem: current.certificatePem, caPem };
      },
      onConnecting: () => status.update((s) => (s.connection = { ...s.connection, state: 'connecting', since: Date.now(), nextAttemptAt: undefined })),
      onOnline: ({ serverCertificate }) => {
        // The server may sign revocation events with its TLS key (vouched for by the fleet CA in this handshake) or the CA's.
        if (serverCertificate) this.#trustedKeys = [this.#trustedKeys[0]!, serverCertificate.publicKey];
        this.#onOnline();
      },
      onMessage: (topic, payload) => this.#onMessage(topic, payload),
      onClosed: (failure, wasOnline) => this.#onConnectionClosed(failure, wasOnline),
      onWaiting: (delayMs, attempt) => {
        log.info({ delayMs, attempt }, 'reconnecting after a delay');
        status.update((s) => (s.connection = { ...s.connection, state: 'disconnected', since: s.connection.state === 'disconnected' ? s.connection.since : Date.now(), nextAttemptAt: Date.now() + delayMs }));
      },
    });
    this.#connection.start();
    log.info({ server: config.server, deviceId: identity.deviceId, models: config.models.length, tpm: config.tpm }, 'vigil-agent running');
  }

  #initialStatus(): AgentStatus {
    const now = Date.now();
    return {
      v: 1,
      pid: process.pid,
      agentVersion: AGENT_VERSION,
      startedAt: now,
      updatedAt: now,
      server: this.#config.server,
      enrollment: { enrolled: false },
      connection: { state: 'starting', since: now, connects: 0 },
      tpm: { uri: this.#config.tpm, reachable: false },
      models: { pcr: this.#config.modelPcr, files: 0, pending: 0 },
    };
  }

  #resetSessionState(): void {
    this.#bootPending = true;
    this.#startingModels = false;
    this.#challengeQueue = [];
    this.#answering = false;
    this.#intervals = new ChallengeInterval();
  }

  /**
   * Enrolls with the configured token. Each attempt is bounded by
   * `enrollTimeoutSeconds` (every wait in it: TPM, connection, the server's
   * answers); network, timeout and TPM failures are retried after the
   * daemon's jittered backoff (`reconnect.initialDelayMs` doubling to
   * `reconnect.maxDelayMs`, `backoff.ts`), so an absent or silent registrar
   * neither hangs the agent nor gets hammered by it. Refusals end the agent;
   * `stop()` ends an attempt or a wait at once.
   */
  async #enroll(why: string): Promise<void> {
    const config = this.#config;
    if (config.token === undefined) {
      throw new StartupError(ExitCode.Usage, `${why}: enrollment needs a token (token in the config file, VIGIL_AGENT_TOKEN or --token; from vigil-server token create)`);
    }
    this.#status?.update((s) => (s.connection = { ...s.connection, state: 'enrolling', since: Date.now() }));
    this.#log.info({ reason: why, server: config.server, timeoutSeconds: config.enrollTimeoutSeconds }, 'enrolling');
    const caPem = await readFile(config.ca, 'utf8');
    // Loaded only when needed: a running agent that is enrolled never uses it.
    const { enroll } = await import('../enroll/enroll.js');
    const backoff = new Backoff({ initialMs: config.reconnect.initialDelayMs, maxMs: config.reconnect.maxDelayMs });
    const cancel = new AbortController();
    this.#cancelEnrollment = () => cancel.abort();
    try {
      for (;;) {
        if (this.#stopping) throw new StopRequested();
        try {
          const result = await enroll({
            server: config.server,
            caPem,
            token: config.token,
            tpmUri: config.tpm,
            stateDir: config.state,
            akKind: config.akKind,
            timeoutMs: config.enrollTimeoutSeconds * 1000,
            signal: cancel.signal,
            log: this.#log,
          });
          this.#log.info({ deviceId: result.deviceId, akCreated: result.akCreated }, 'enrolled');
          return;
        } catch (err) {
          if (this.#stopping) throw new StopRequested();
          if (!(err instanceof EnrollmentError) || !['network', 'timeout', 'tpm'].includes(err.failure)) throw err;
          const wait = backoff.next();
          this.#log.warn({ failure: err.failure, err: err.message, attempt: backoff.attempt, retryInMs: wait }, 'enrollment attempt failed; retrying');
          this.#status?.update((s) => (s.connection = { ...s.connection, lastError: err.message.slice(0, 512), nextAttemptAt: Date.now() + wait }));
          await sleepUnless(wait, cancel.signal);
        }
      }
    } finally {
      this.#cancelEnrollment = () => undefined;
    }
  }

  // ----- TPM ------------------------------------------------------------------------------------

  /** Runs `fn` on the TPM; a TPM that no longer holds the enrolled keys ends the session (re-enroll or exit 4). */
  async #useTpm<T>(fn: (ctx: TpmContext) => Promise<T>): Promise<T> {
    const link = this.#link;
    if (!link) throw new TpmUnavailableError('the TPM is not open');
    try {
      const result = await link.use(({ tpm, keys, counters }) => fn({ tpm, runner: link.runner, keys, counters }));
      // Written only when something changed: the health poll must not rewrite the status file (flash storage) every few seconds.
      const t = this.#status?.current.tpm;
      if (t && (!t.reachable || t.resetCount !== link.counters?.resetCount || t.restartCount !== link.counters?.restartCount)) {
        this.#status!.update((s) => (s.tpm = { ...s.tpm, reachable: true, checkedAt: Date.now(), resetCount: link.counters?.resetCount, restartCount: link.counters?.restartCount, lastError: undefined }));
      }
      return result;
    } catch (err) {
      if (err instanceof StateError && err.code === 'tpm-changed') this.#onTpmCleared(err);
      throw err;
    }
  }

  #onTpmCleared(err: StateError): void {
    if (this.#config.token !== undefined) {
      this.#log.error({ err: err.message }, 'TPM CLEARED OR REPLACED: the enrolled EK/AK are gone; enrolling again with the configured token');
      this.#finish(new Stop('reenroll'));
    } else {
      this.#log.error({ err: err.message }, 'TPM CLEARED OR REPLACED: the enrolled EK/AK are gone; the device must enroll again (give a token and have the server allow it)');
      this.#finish(new Stop({ exitCode: ExitCode.Tpm, reason: `the TPM was cleared or replaced: ${err.message}` }));
    }
  }

  #onTpmReachability(reachable: boolean, error: Error | undefined): void {
    this.#status?.update((s) => (s.tpm = { ...s.tpm, reachable, checkedAt: Date.now(), lastError: error?.message.slice(0, 512) }));
    if (reachable) {
      // Model files that could not be measured while the TPM was away are measured now.
      void this.#watcher?.check();
      if (this.#connection?.online) this.#requestChallenge(this.#bootPending ? 'boot' : 'reconnect', 'TPM reachable again');
    }
  }

  #onCounterChange(change: CounterChange): void {
    this.#status?.update((s) => (s.tpm = { ...s.tpm, resetCount: change.current.resetCount, restartCount: change.current.restartCount }));
    this.#bootPending = true;
    void (async () => {
      // After a TPM Reset the model PCR is zero and the model log starts over: measure every file again. After a
      // Restart too, but the counters cannot tell a Restart from a Resume (PCRs restored): the model log checks its PCR.
      let startedOver = change.kind === 'reset';
      if (change.kind === 'restart') {
        startedOver = await this.#useTpm((ctx) => this.#attester!.followRestart(ctx, change.previous.restartCount)).then(
          (over) => {
            if (over) this.#log.warn({ restartCount: change.current.restartCount }, 'TPM restart cleared the model PCR: model log started over');
            return over;
          },
          // Not known now (the TPM went away again): measuring again is always safe.
          () => true,
        );
      }
      if (startedOver) {
        this.#remeasuring = true;
        try {
          await this.#watcher?.remeasureAll();
        } finally {
          this.#remeasuring = false;
        }
      }
      if (this.#connection?.online) this.#requestChallenge('boot', `TPM ${change.kind}: resetCount ${change.previous.resetCount} -> ${change.current.resetCount}, restartCount ${change.previous.restartCount} -> ${change.current.restartCount}`);
    })().catch((err: unknown) => this.#log.error({ err }, 'handling the TPM reset failed'));
  }

  // ----- models ---------------------------------------------------------------------------------

  async #measureModels(changed: readonly string[], removed: readonly string[], whole: readonly string[]): Promise<{ failed: readonly string[] }> {
    const initial = this.#startingModels;
    if (removed.length > 0) this.#log.warn({ files: removed.slice(0, 20), count: removed.length }, 'model files removed');
    let failed: readonly string[] = changed;
    let added = 0;
    if (changed.length > 0) {
      this.#status?.update((s) => (s.models = { ...s.models, pending: changed.length }));
      try {
        ({ failed, added } = await this.#useTpm((ctx) => this.#attester!.measure(ctx, { files: changed, wholeRoots: whole })));
      } catch (err) {
        if (!(err instanceof TpmUnavailableError)) throw err;
        this.#log.warn({ files: changed.length }, 'the TPM is unreachable: model files will be measured when it is back');
      }
    }
    const measured = changed.length - failed.length;
    this.#status?.update((s) => {
      s.models = {
        ...s.models,
        pending: failed.length,
        ...(measured > 0 ? { measuredAt: Date.now() } : {}),
        lastError: failed.length > 0 ? `${failed.length} file(s) not measured, e.g. ${failed[0]}`.slice(0, 512) : undefined,
      };
    });
    if (initial && measured > 0) {
      // `added` is 0 after an agent restart in the same TPM boot: the log already holds these digests.
      this.#log.info({ measured, added }, 'model files measured');
    } else if (added > 0 || removed.length > 0) {
      this.#log.info({ measured, added, removed: removed.length }, 'model files changed and re-measured');
    } else if (measured > 0) {
      this.#log.debug({ measured }, 'model files touched, contents unchanged');
    }
    // After a TPM reset every file is measured again and a `boot` request follows: no `model-changed` for that.
    if (!initial && !this.#remeasuring && (added > 0 || removed.length > 0) && this.#connection?.online) {
      const first = changed[0] ?? removed[0] ?? '';
      const more = changed.length + removed.length - 1;
      this.#requestChallenge('model-changed', `${first}${more > 0 ? ` and ${more} more` : ''}`);
    }
    return { failed };
  }

  /** Keeps `measured-files.json` in step with the watcher (after each pass that measured something), one write at a time. */
  #recordMeasured(measured: ReadonlyMap<string, FileFingerprint>): void {
    const snapshot = new Map(measured);
    this.#status?.update((s) => (s.models = { ...s.models, files: snapshot.size }));
    this.#recording = this.#recording
      .then(async () => {
        const logged = await this.#useTpm((ctx) => this.#attester!.logged(ctx));
        await writeMeasuredFiles(this.#config.state, measuredFilesRecord(logged, snapshot));
      })
      .catch((err: unknown) => this.#log.debug({ err: (err as Error).message }, 'could not record the measured files (they will be hashed again at the next start)'));
  }

  // ----- MQTT -----------------------------------------------------------------------------------

  #onOnline(): void {
    const reason: ChallengeRequestReason = this.#bootPending ? 'boot' : 'reconnect';
    this.#status?.update((s) => (s.connection = { state: 'connected', since: Date.now(), connects: s.connection.connects + 1 }));
    this.#log.info({ reason }, 'connected to the server');
    this.#requestChallenge(reason);
  }

  #requestChallenge(reason: ChallengeRequestReason, detail?: string): void {
    const identity = this.#identity;
    const connection = this.#connection;
    if (!identity || !connection?.online || this.#revoked) return;
    if (reason === 'boot') this.#bootPending = false;
    const payload = encodeChallengeRequest({ v: 1, reason, ...(detail !== undefined ? { detail: detail.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 256) } : {}) });
    connection.publish(topics.deviceChallengeRequest(identity.deviceId), payload).then(
      () => this.#log.debug({ reason, detail }, 'challenge requested'),
      (err: unknown) => {
        if (reason === 'boot') this.#bootPending = true;
        this.#log.warn({ err: (err as Error).message, reason }, 'could not request a challenge');
      },
    );
  }

  #onMessage(topic: string, payload: Buffer): void {
    const identity = this.#identity;
    if (!identity || this.#revoked) return;
    const where = parseTopic(topic);
    if (where === null) return;
    if (where.kind === 'fleet-revocations') return this.#onFleetEvent(payload);
    if (where.kind === 'device-challenge' && where.deviceId === identity.deviceId) {
      const challenge = decodeChallenge(payload);
      if (challenge instanceof ProtocolError) return void this.#log.warn({ err: challenge.message, path: challenge.path }, 'malformed challenge ignored');
      return this.#onChallenge(challenge);
    }
    if (where.kind === 'device-result' && where.deviceId === identity.deviceId) {
      const result = decodeResult(payload);
      if (result instanceof ProtocolError) return void this.#log.warn({ err: result.message, path: result.path }, 'malformed result ignored');
      return this.#onResult(result);
    }
  }

  #onChallenge(challenge: AttestationChallenge): void {
    // QoS 1 is at-least-once, and a server may send an open challenge again: answer each challenge once
    // (evidence for a used challenge is a replay to the verifier).
    if (this.#seenChallenges.has(challenge.challengeId)) return void this.#log.debug({ challengeId: challenge.challengeId }, 'challenge seen before: ignored');
    this.#seenChallenges.add(challenge.challengeId);
    if (this.#seenChallenges.size > SEEN_CHALLENGES) this.#seenChallenges.delete(this.#seenChallenges.values().next().value!);
    const now = Date.now();
    this.#intervals.seen(now);
    this.#status?.update((s) => {
      s.lastChallenge = { challengeId: challenge.challengeId, receivedAt: now, expiresAt: challenge.expiresAt };
      s.nextChallengeExpectedAt = this.#intervals.nextExpectedAt();
    });
    this.#challengeQueue.push(challenge);
    while (this.#challengeQueue.length > MAX_QUEUED_CHALLENGES) {
      const dropped = this.#challengeQueue.shift()!;
      this.#log.warn({ challengeId: dropped.challengeId }, 'too many challenges waiting: oldest dropped');
    }
    void this.#drainChallenges();
  }

  async #drainChallenges(): Promise<void> {
    if (this.#answering) return;
    this.#answering = true;
    try {
      for (let challenge = this.#challengeQueue.shift(); challenge !== undefined && !this.#revoked; challenge = this.#challengeQueue.shift()) {
        await this.#answer(challenge);
      }
    } finally {
      this.#answering = false;
    }
  }

  async #answer(challenge: AttestationChallenge): Promise<void> {
    const identity = this.#identity!;
    const log = this.#log.child({ challengeId: challenge.challengeId });
    if (challenge.expiresAt <= Date.now()) return void log.warn('challenge expired before it could be answered');
    let payload: Uint8Array;
    try {
      const evidence = await this.#useTpm((ctx) => this.#attester!.evidence(ctx, challenge));
      payload = encodeEvidence(evidence);
    } catch (err) {
      if (err instanceof TpmUnavailableError) return void log.warn({ err: err.message }, 'cannot answer the challenge: the TPM is unreachable');
      if (err instanceof StateError && err.code === 'tpm-changed') return;
      return void log.error({ err }, 'building the evidence failed');
    }
    try {
      await this.#connection!.publish(topics.deviceEvidence(identity.deviceId), payload);
    } catch (err) {
      return void log.warn({ err: (err as Error).message }, 'could not send the evidence (disconnected)');
    }
    log.debug({ bytes: payload.length }, 'evidence sent');
    this.#status?.update((s) => {
      if (s.lastChallenge?.challengeId === challenge.challengeId) s.lastChallenge = { ...s.lastChallenge, answeredAt: Date.now() };
    });
  }

  #onResult(result: AttestationResult): void {
    const revoked = revocationFromResult(result);
    if (revoked) return void this.#revoke(revoked);
    const now = Date.now();
    if (!result.ok) {
      this.#log.warn({ error: result.error, message: result.message, challengeId: result.challengeId }, 'the server could not appraise the evidence');
      this.#status?.update((s) => (s.lastVerdict = { status: 'error', at: now, ...(result.challengeId ? { challengeId: result.challengeId } : {}), reasons: [result.error] }));
      return;
    }
    if (result.certificate !== undefined) void this.#acceptRenewal(result.certificate);
    const status = overallStatus(result.verdict);
    const reasons = Object.values(result.verdict.submods).flatMap((a) => (a?.['vigil.reasons'] ?? []).map((r) => r.code));
    this.#status?.update((s) => (s.lastVerdict = { status, at: now, challengeId: result.challengeId, reasons: reasons.slice(0, 32).map((r) => r.slice(0, 128)) }));
    if (status === 'affirming') {
      this.#connection?.noteHealthy();
      this.#log.info({ status, challengeId: result.challengeId }, 'verdict');
    } else {
      this.#log[status === 'contraindicated' ? 'error' : 'warn']({ status, challengeId: result.challengeId, reasons }, 'verdict');
    }
  }

  /**
   * A renewed certificate sent with an affirming verdict: kept if it is for
   * our key, from the fleet CA, names this device and outlives the current
   * one; then the session is re-opened with it (the server renews the
   * certificate a session presents, so the old one must stop being presented).
   */
  async #acceptRenewal(certificatePem: string): Promise<void> {
    const identity = this.#identity;
    if (!identity || this.#revoked) return;
    try {
      const accepted = acceptIssuedCertificate(certificatePem, identity.keyPem, this.#caPem, identity.deviceId, Date.now());
      if (accepted.notAfter <= this.#certificateNotAfter) return void this.#log.debug('renewed certificate does not outlive the current one; kept the current one');
      const record = { ...identity.record, certificate: { serial: accepted.serial, notAfter: accepted.notAfter } };
      await saveEnrollment(this.#config.state, { record, certificatePem, caPem: identity.caPem });
      this.#identity = { ...identity, record, certificatePem };
      this.#certificateNotAfter = accepted.notAfter;
      this.#status?.update((s) => (s.enrollment = { ...s.enrollment, certificateSerial: accepted.serial, certificateNotAfter: accepted.notAfter, renewedAt: Date.now() }));
      this.#log.info({ serial: accepted.serial, notAfter: new Date(accepted.notAfter).toISOString() }, 'device certificate renewed');
      this.#connection?.reconnect();
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'renewed certificate refused; keeping the current one');
    }
  }

  #onFleetEvent(payload: Buffer): void {
    const event = decodeRevocation(payload);
    if (event instanceof ProtocolError) return void this.#log.debug({ err: event.message }, 'malformed fleet revocation event ignored');
    const identity = this.#identity!;
    const judged = judgeFleetEvent(event, { deviceId: identity.deviceId, serial: identity.record.certificate.serial }, this.#trustedKeys);
    if (judged.kind === 'bad-signature') return void this.#log.warn({ deviceId: event.deviceId, keyId: event.keyId }, 'revocation event naming this device ignored: not signed by a trusted key');
    if (judged.kind === 'revoked') void this.#revoke(judged.notice);
  }

  #onConnectionClosed(failure: ConnectFailure | undefined, wasOnline: boolean): 'retry' | 'stop' {
    if (this.#revoked || this.#stopping) return 'stop';
    const certificateValid = this.#certificateNotAfter - Date.now() > VALIDITY_MARGIN_MS;
    const revoked = revocationFromRefusal(failure, certificateValid);
    if (revoked) {
      void this.#revoke(revoked);
      return 'stop';
    }
    if (failure?.kind === 'connack' && failure.code === 5 && !certificateValid) {
      this.#log.error({ notAfter: new Date(this.#certificateNotAfter).toISOString() }, 'the server refused the connection and the device certificate has expired: the device must enroll again');
    } else if (wasOnline) {
      this.#log.warn({ err: failure?.message }, 'disconnected from the server');
    } else {
      this.#log.warn({ err: failure?.message }, 'cannot connect to the server');
    }
    this.#status?.update((s) => (s.connection = { ...s.connection, state: 'disconnected', since: Date.now(), lastError: failure?.message.slice(0, 512) }));
    return 'retry';
  }

  // ----- revocation -----------------------------------------------------------------------------

  /** Stops attesting, records the revocation, runs the hook once, ends the agent with exit 6. Idempotent. */
  async #revoke(notice: RevocationNotice, hookAlreadyRan = false): Promise<void> {
    if (this.#revoked) return;
    this.#revoked = true;
    const identity = this.#identity;
    const config = this.#config;
    this.#log.fatal({ deviceId: identity?.deviceId, source: notice.source, reason: notice.reason }, 'THIS DEVICE HAS BEEN REVOKED: attestation stopped');
    this.#watcher?.stop();
    this.#challengeQueue = [];
    await this.#connection?.stop();
    this.#status?.update((s) => {
      s.revoked = { at: Date.now(), reason: notice.reason.slice(0, 512), source: notice.source };
      s.connection = { ...s.connection, state: 'revoked', since: Date.now(), nextAttemptAt: undefined };
    });
    const marker = {
      v: 1 as const,
      deviceId: identity?.deviceId ?? 'unknown',
      certificateSerial: identity?.record.certificate.serial ?? '',
      at: Date.now(),
      source: notice.source,
      reason: notice.reason.slice(0, 512),
      hookRan: hookAlreadyRan,
    };
    await writeRevocationMarker(config.state, marker).catch((err: unknown) => this.#log.error({ err }, 'cannot write the revocation marker'));
    if (!hookAlreadyRan && config.revokedHook !== undefined) {
      await runRevokedHook(config.revokedHook, { deviceId: marker.deviceId, reason: marker.reason, timeoutMs: config.revokedHookTimeoutSeconds * 1000, log: this.#log });
      await writeRevocationMarker(config.state, { ...marker, hookRan: true }).catch(() => undefined);
    }
    this.#finish(new Stop({ exitCode: ExitCode.Revoked, reason: `revoked: ${notice.reason}` }));
  }

  // ----- shutdown -------------------------------------------------------------------------------

  async #closeSession(exit: DaemonExit | 'reenroll'): Promise<void> {
    this.#watcher?.stop();
    await this.#connection?.stop();
    await this.#link?.stop();
    this.#watcher = undefined;
    this.#connection = undefined;
    this.#link = undefined;
    if (exit !== 'reenroll') {
      this.#status?.update((s) => {
        s.stopped = { at: Date.now(), exitCode: exit.exitCode, reason: exit.reason.slice(0, 512) };
        if (s.connection.state !== 'revoked') s.connection = { ...s.connection, state: 'stopped', since: Date.now(), nextAttemptAt: undefined };
      });
    }
    await this.#status?.flush();
    if (exit === 'reenroll') {
      this.#revoked = false;
      await this.#enroll('the TPM was cleared or replaced');
    }
  }

  #exitFor(err: unknown): DaemonExit | 'reenroll' {
    if (err instanceof StopRequested) return { exitCode: ExitCode.Ok, reason: 'stopped' };
    if (err instanceof StartupError) return { exitCode: err.exitCode, reason: err.message };
    if (err instanceof EnrollmentError) {
      const code = { refused: ExitCode.Failed, usage: ExitCode.Usage, state: ExitCode.Io, tpm: ExitCode.Tpm, network: ExitCode.Network, timeout: ExitCode.Network, cancelled: ExitCode.Ok, protocol: ExitCode.Network }[err.failure];
      return { exitCode: code, reason: `enrollment failed: ${err.message}` };
    }
    if (err instanceof StateError) {
      if (err.code === 'tpm-changed') return this.#config.token !== undefined ? 'reenroll' : { exitCode: ExitCode.Tpm, reason: err.message };
      return { exitCode: ExitCode.Io, reason: err.message };
    }
    this.#log.error({ err }, 'internal error');
    return { exitCode: ExitCode.Internal, reason: `internal error: ${(err as Error).message ?? String(err)}` };
  }
}

/** A start-up failure with the exit code it maps to. */
class StartupError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

class StopRequested extends Error {}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Below this many bytes a folder is hashed file by file on the main thread:
 * worker threads (one V8 isolate each) only pay for large models, and the
 * memory they leave behind in the allocator counts against the agent's footprint.
 */
const PARALLEL_HASHING_MIN_BYTES = 64 * 1024 * 1024;

/** Configured folders every scanned file of which changed, large enough to hash in parallel: measured as a whole. */
function wholeRoots(roots: readonly string[], changed: readonly string[], scanned: ReadonlyMap<string, FileFingerprint>): string[] {
  const changedSet = new Set(changed);
  return roots.filter((root) => {
    const prefix = root.endsWith(sep) ? root : root + sep;
    let bytes = 0n;
    for (const [path, fp] of scanned) {
      if (!path.startsWith(prefix)) continue;
      if (!changedSet.has(path)) return false;
      bytes += fp.size;
    }
    return bytes >= BigInt(PARALLEL_HASHING_MIN_BYTES);
  });
}

function keyOfCertificate(pem: string, path: string): KeyObject {
  try {
    return new X509Certificate(pem).publicKey;
  } catch (err) {
    throw new StartupError(ExitCode.Usage, `${path} is not a PEM certificate: ${(err as Error).message}`);
  }
}
