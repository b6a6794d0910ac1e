import { hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  decodeChallengeRequest,
  decodeEvidence,
  encodeResult,
  overallStatus,
  parseTopic,
  ProtocolError,
  topics,
  type AttestationError,
  type AttestationResult,
  type Ear,
  type EarStatus,
  type RevocationReason,
  type VerdictReason,
} from '@vigil/protocol';
import type { Broker, ClientIdentity, InboundMessage } from '../broker/index.js';
import type { Logger } from '../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { PolicyCache } from '../policy/policy-cache.js';
import {
  StoreError,
  type BatchedOutcome,
  type BatchedWrite,
  type NewAttestation,
  type NewDeviceLogState,
  type ChallengeUse,
  type RecordAnswerResult,
  type RecordAttestationInput,
  type Store,
  type TpmClockState,
} from '../store/index.js';
import { AttestationScheduler } from './challenges/scheduler.js';
import { acceptAnswer, processAnswers, type ChallengeOpener } from './challenges/answer.js';
import { ChallengeClaims } from './challenges/claims.js';
import { ChallengeIssuer, type ChallengeTrigger } from './challenges/issuer.js';
import { ChallengeSeal } from './challenges/sealed-challenge.js';
import { Appraisal, type PipelineDeps } from './pipeline/appraisal.js';
import { runPipeline } from './pipeline/pipeline.js';
import { FairQueue } from './queue/fair-queue.js';
import { TurnBatch } from './queue/turn-batch.js';
import { REASON_CODES } from './reasons.js';
import type { CertificateRenewal } from './renewal.js';
import { BootLogCache } from './state/boot-log-cache.js';
import { DeviceStates } from './state/device-state.js';
import { sameLogState } from './state/same-log-state.js';
import { WriteBatcher } from './state/write-batcher.js';

/** Revokes a device (the revocation service; the verifier only asks). */
export interface Revoker {
  revoke(deviceId: string, reason: RevocationReason, actor: string, message?: string): Promise<unknown>;
}

export interface VerifierOptions {
  readonly intervalMs: number;
  readonly jitter: number;
  readonly challengeTtlMs: number;
  readonly maxQueuedPerDevice: number;
  readonly concurrency: number;
  /**
   * How long the first write to an idle group commit waits for others to
   * share its transaction, ms; 0 commits at the end of the event-loop turn.
   * See `WriteBatcher` and `store.groupCommitMs`.
   */
  readonly groupCommitMs?: number;
}

export interface VerifierDeps {
  readonly store: Store;
  readonly broker: Broker;
  readonly policies: PolicyCache;
  readonly revoker: Revoker;
  readonly renewal?: CertificateRenewal;
  readonly metrics?: ServerMetrics;
  readonly log: Logger;
  readonly now?: () => number;
  /**
   * The key that seals challenges (`ChallengeSeal`), at least 32 bytes: the
   * same for every verifier replica answering the same devices (the server
   * derives it from the fleet CA key, `FleetCa.deriveKey`).
   */
  readonly challengeKey: Uint8Array;
}

/** What one piece of evidence came to: a verdict, or why there is none. */
export type AppraisalOutcome =
  | { readonly ok: true; readonly challengeId: string; readonly status: EarStatus; readonly verdict: Ear; readonly attestationId: number }
  | { readonly ok: false; readonly challengeId?: string; readonly error: AttestationError; readonly message: string };

/** What "attest this device now" came to. */
export type AttestNowOutcome =
  | AppraisalOutcome
  | { readonly ok: false; readonly error: 'not-connected' | 'unknown-device' | 'revoked' | 'timeout'; readonly message: string; readonly challengeId?: string };

const INTEGRITY_NEUTRAL = new Set<string>([...REASON_CODES.policy, 'tpm-reboot', 'tpm-restart']);

/**
 * The continuous-attestation verifier: takes evidence and challenge requests
 * from the broker, keeps every connected device on its challenge schedule,
 * runs the pipeline (through a fair per-device queue), stores each verdict
 * with the evidence digest, publishes it to the device only after the store
 * committed it, and revokes a contraindicated device.
 */
export class Verifier {
  readonly states: DeviceStates;
  readonly bootLogs = new BootLogCache();
  readonly issuer: ChallengeIssuer;
  readonly scheduler: AttestationScheduler;
  readonly #queue: FairQueue;
  /**
   * Challenges asked for by a request or a subscription during one turn of
   * the event loop, issued together at its end: their store reads then run
   * one after another, warm, instead of each after its own message's
   * handling (the schedule's timer already hands its due devices over
   * together).
   */
  readonly #asked = new TurnBatch<{ readonly deviceId: string; readonly trigger: ChallengeTrigger }>(
    (asked) => {
      for (const a of asked) void this.#challenge(a.deviceId, a.trigger);
    },
    (err) => this.#log.error({ err }, 'issuing the challenges asked for failed'),
  );
  readonly #pipeline: PipelineDeps;
  readonly #waiters = new Map<string, Array<(o: AppraisalOutcome) => void>>();
  /** Challenge uses and verdict records close together in time: one commit. */
  readonly #writes: WriteBatcher<BatchedWrite, BatchedOutcome>;
  readonly #now: () => number;
  readonly #log: Logger;
  /** Seals the challenges this verifier issues and opens the ids answers name. */
  readonly seal: ChallengeSeal;
  /** Sealed challenges answered in this process (step 3's claims; their uses are stored with the verdicts). */
  readonly claims = new ChallengeClaims();
  #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(
    private readonly deps: VerifierDeps,
    private readonly options: VerifierOptions,
  ) {
    this.#now = deps.now ?? Date.now;
    this.#log = deps.log.child({ component: 'verifier' });
    this.states = new DeviceStates(deps.store);
    this.#writes = new WriteBatcher((writes) => deps.store.applyBatch(writes), { windowMs: options.groupCommitMs ?? 0 });
    this.seal = new ChallengeSeal(deps.challengeKey);
    // A sealed challenge's use is claimed here and recorded with its verdict; stored consumptions
    // go with the other writes of the turn (group commit).
    const answers = processAnswers(this.claims, deps.store, (challengeId, device, at) =>
      this.#write({ kind: 'consume-challenge', request: { id: challengeId, deviceId: device, now: at } }),
    );
    // An answer to the challenge this process last issued to the device needs no MAC to open:
    // the issuer holds what the seal made. Any other id (another replica's, an older one) is opened.
    const opener: ChallengeOpener = {
      open: (id, deviceId) => {
        const mine = this.issuer.sealedFor(deviceId, id);
        return mine !== undefined ? { kind: 'sealed', challenge: mine } : this.seal.open(id, deviceId);
      },
    };
    this.#pipeline = {
      store: deps.store,
      consumeChallenge: (id, deviceId, now) => acceptAnswer(opener, answers, id, deviceId, now),
      states: this.states,
      bootLogs: this.bootLogs,
      policyFor: (device) => deps.policies.forDevice(device),
      fleetAllowlist: () => deps.policies.fleetAllowlist(),
      log: this.#log,
      now: this.#now,
    };
    this.issuer = new ChallengeIssuer(
      {
        store: deps.store,
        broker: deps.broker,
        states: this.states,
        policyFor: (device) => deps.policies.forDevice(device),
        log: this.#log,
        now: this.#now,
        onSent: () => deps.metrics?.challenges.inc('sent'),
        onExpired: () => deps.metrics?.challenges.inc('expired'),
        seal: this.seal,
        claimed: (challengeId) => this.claims.has(challengeId),
      },
      { ttlMs: options.challengeTtlMs, minSpacingMs: Math.min(1000, options.challengeTtlMs / 2) },
    );
    this.scheduler = new AttestationScheduler({ intervalMs: options.intervalMs, jitter: options.jitter }, (id) => this.#scheduled(id), this.#now);
    this.#queue = new FairQueue({ perDevice: options.maxQueuedPerDevice, concurrency: options.concurrency }, (err) =>
      this.#log.error({ err }, 'appraisal failed unexpectedly'),
    );
  }

  /** Subscribes to the broker and schedules every device that is not revoked. */
  async start(): Promise<void> {
    this.#unsubscribe.push(this.deps.broker.onMessage((m) => this.#onMessage(m)));
    this.#unsubscribe.push(this.deps.broker.onSubscribe((identity, topic) => this.#onSubscribe(identity, topic)));
    for (const d of await this.deps.store.listDevices({ revoked: false })) {
      this.scheduler.add(d.id);
      // The broker starts before the verifier: a device that reconnected and subscribed in between was
      // not seen subscribing, and would otherwise wait up to a whole interval for its first challenge.
      if (this.deps.broker.isConnected({ kind: 'device', deviceId: d.id })) void this.#challenge(d.id, 'subscribe');
    }
    this.scheduler.start();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    this.scheduler.stop();
    this.#asked.close();
    await this.#queue.close();
    await this.#writes.drain();
    for (const [challengeId, waiters] of this.#waiters) {
      for (const w of waiters) w({ ok: false, challengeId, error: 'internal-error', message: 'the verifier is shutting down' });
    }
    this.#waiters.clear();
  }

  /** A device was revoked: stop challenging it and drop what is held for it. */
  forgetDevice(deviceId: string): void {
    this.scheduler.remove(deviceId);
    this.issuer.forget(deviceId);
    this.states.forget(deviceId);
  }

  /** A device was reinstated (or enrolled): challenge it on schedule again. */
  scheduleDevice(deviceId: string): void {
    this.scheduler.add(deviceId);
  }

  /**
   * Challenges a device now and resolves with the verdict on its answer
   * (or why there is none): `vigil-server attest <id>`.
   */
  async attestNow(deviceId: string, timeoutMs: number): Promise<AttestNowOutcome> {
    if (!this.deps.broker.isConnected({ kind: 'device', deviceId })) {
      const device = await this.deps.store.getDevice(deviceId);
      if (device === null) return { ok: false, error: 'unknown-device', message: `no enrolled device ${deviceId}` };
      if (device.revoked) return { ok: false, error: 'revoked', message: `device ${deviceId} is revoked` };
      return { ok: false, error: 'not-connected', message: `device ${deviceId} is not connected` };
    }
    const issued = await this.issuer.issue(deviceId, 'admin');
    if (!issued.ok) {
      return issued.reason === 'revoked'
        ? { ok: false, error: 'revoked', message: `device ${deviceId} is revoked` }
        : { ok: false, error: 'unknown-device', message: `no enrolled device ${deviceId}` };
    }
    const challengeId = issued.challenge.challengeId;
    return new Promise<AttestNowOutcome>((resolve) => {
      const waiter = (o: AppraisalOutcome) => {
        clearTimeout(timer);
        resolve(o);
      };
      const timer = setTimeout(() => {
        this.#removeWaiter(challengeId, waiter);
        resolve({ ok: false, challengeId, error: 'timeout', message: `no answer to challenge ${challengeId} within ${timeoutMs} ms` });
      }, timeoutMs);
      const list = this.#waiters.get(challengeId) ?? [];
      list.push(waiter);
      this.#waiters.set(challengeId, list);
    });
  }

  /**
   * Appraises one piece of evidence now, bypassing the queue (the broker
   * path queues; benchmarks and tests may call this directly).
   */
  async appraise(deviceId: string, serial: string, payload: Uint8Array, receivedAt = this.#now(), arrivedAt = performance.now()): Promise<AppraisalOutcome> {
    const evidenceDigest = hash('sha256', payload, 'hex');
    const a = new Appraisal(deviceId, serial, payload, receivedAt);
    await runPipeline(a, this.#pipeline);
    const outcome = await this.#conclude(a, evidenceDigest, arrivedAt);
    if (outcome !== 'used') return outcome;
    // The store had this challenge's use already (another verifier process answered it first, or this
    // one before a restart): nothing of this appraisal was stored. Appraised again, step 3 calls it the
    // replay it is, and that verdict is the one recorded and published.
    const replay = new Appraisal(deviceId, serial, payload, receivedAt);
    replay.replay = true;
    await runPipeline(replay, this.#pipeline);
    const again = await this.#conclude(replay, evidenceDigest, arrivedAt);
    // A replay carries no use to record, so the store cannot answer `used` twice.
    if (again === 'used') throw new Error('a replay was refused as used');
    return again;
  }

  /**
   * Records and publishes what the pipeline made of `a`: its verdict, or why
   * there is none. `used` if the store refused the challenge's use (nothing
   * stored, nothing published).
   */
  async #conclude(a: Appraisal, evidenceDigest: string, arrivedAt: number): Promise<AppraisalOutcome | 'used'> {
    const { deviceId, serial, receivedAt } = a;
    // From arrival (queue wait included) to the result published.
    const stopTimer = () => this.deps.metrics?.pipelineLatency.observe((performance.now() - arrivedAt) / 1000);
    const challengeId = a.challenge?.id ?? a.evidence?.challengeId;
    if (challengeId !== undefined) this.issuer.answered(deviceId, challengeId);

    if (a.failure !== undefined) {
      const outcome: AppraisalOutcome = { ok: false, ...(challengeId !== undefined ? { challengeId } : {}), error: a.failure.code, message: a.failure.message };
      const known = a.device !== undefined || (a.failure.code !== 'device-unknown' && (await this.deps.store.getDevice(deviceId)) !== null);
      if ((await this.#recordFailure(deviceId, challengeId ?? null, receivedAt, evidenceDigest, a.failure.code, a.failure.message, known, a.use)) === 'used') return 'used';
      await this.#publishResult(deviceId, { v: 1, ok: false, ...(challengeId !== undefined ? { challengeId } : {}), error: a.failure.code, message: a.failure.message });
      stopTimer();
      this.#resolveWaiters(challengeId, outcome);
      return outcome;
    }

    const verdict = a.v.build({
      deviceId,
      ...(a.challenge !== undefined ? { challengeId: a.challenge.id, nonce: Buffer.from(a.challenge.nonce).toString('hex') } : challengeId !== undefined ? { challengeId } : {}),
      receivedAt,
      iat: Math.floor(this.#now() / 1000),
    });
    const status = overallStatus(verdict);
    const identityPassed = a.clock !== undefined;
    const reasons = allReasons(verdict);
    const integrityOk = identityPassed && reasons.every((r) => INTEGRITY_NEUTRAL.has(r.code));
    const signedClock: TpmClockState | null =
      a.signature !== undefined ? { clock: a.attest!.clockInfo.clock, resetCount: a.attest!.clockInfo.resetCount, restartCount: a.attest!.clockInfo.restartCount } : null;
    const attestation: NewAttestation = {
      deviceId,
      challengeId: challengeId ?? null,
      receivedAt,
      evidenceDigest,
      status,
      verdict,
      error: null,
      policy: a.policy !== undefined && a.policy.name !== null ? { name: a.policy.name, version: a.policy.version! } : null,
      tpmClock: signedClock,
    };
    const next = identityPassed && a.nextLogState !== undefined ? { ...a.nextLogState, verifiedPcrs: integrityOk ? a.evidence!.pcrs : a.nextLogState.verifiedPcrs } : undefined;
    // Most verdicts change nothing in the log state (same boot, no new entries): no need to write it.
    const logState = next !== undefined && (a.state!.log === undefined || !sameLogState(a.state!.log, next)) ? next : undefined;
    const recorded = await this.#record(a.use, {
      attestation,
      device: {
        status,
        verified: a.v.passing('identity') && (status === 'affirming' || status === 'warning'),
        ...(a.clock !== undefined ? { tpmClock: a.clock } : {}),
      },
      ...(logState !== undefined ? { logState } : {}),
      actor: 'verifier',
    });
    if (recorded === 'used') return 'used';
    if (logState !== undefined) a.state!.log = logState;
    this.deps.metrics?.verdicts.inc(status);

    let certificate: string | undefined;
    // Undefined at once unless the certificate may be due: no await on an affirming verdict's usual path.
    const renewing = status === 'affirming' ? this.deps.renewal?.renewIfDue(deviceId, serial) : undefined;
    if (renewing !== undefined) {
      certificate = await renewing.catch((err: unknown) => {
        this.#log.error({ err, deviceId }, 'certificate renewal failed');
        return undefined;
      });
    }
    // Published only after the store committed the verdict.
    await this.#publishResult(deviceId, { v: 1, ok: true, challengeId: challengeId!, verdict, ...(certificate !== undefined ? { certificate } : {}) });
    stopTimer();
    const outcome: AppraisalOutcome = { ok: true, challengeId: challengeId!, status, verdict, attestationId: recorded.attestation.id };
    this.#resolveWaiters(challengeId, outcome);

    if (status === 'contraindicated') {
      await this.deps.revoker.revoke(deviceId, 'contraindicated', 'verifier', summarize(reasons)).catch((err: unknown) => {
        this.#log.error({ err, deviceId }, 'revocation of a contraindicated device failed');
      });
    }
    return outcome;
  }

  #onMessage(m: InboundMessage): void {
    if (this.#closed || m.identity.kind !== 'device') return;
    const where = parseTopic(m.topic);
    if (where === null || !('deviceId' in where) || where.deviceId !== m.identity.deviceId) return;
    const deviceId = where.deviceId;
    const serial = m.identity.serial;
    if (where.kind === 'device-evidence') {
      const receivedAt = this.#now();
      const arrivedAt = performance.now();
      const queued = this.#queue.push(deviceId, async () => {
        try {
          await this.appraise(deviceId, serial, m.payload, receivedAt, arrivedAt);
        } catch (err) {
          await this.#unappraised(deviceId, m.payload, err);
        }
      });
      if (!queued) void this.#refuse(deviceId, m.payload, receivedAt);
    } else if (where.kind === 'device-challenge-request') {
      const request = decodeChallengeRequest(m.payload);
      if (request instanceof ProtocolError) {
        this.#log.debug({ deviceId, reason: request.reason }, 'malformed challenge request ignored');
        return;
      }
      this.scheduler.add(deviceId);
      this.#asked.add({ deviceId, trigger: 'request' });
    }
  }

  #onSubscribe(identity: ClientIdentity, topic: string): void {
    if (this.#closed || identity.kind !== 'device') return;
    if (topic !== topics.deviceChallenge(identity.deviceId)) return;
    // The device now listens for challenges: it gets one at once, then one per interval.
    this.scheduler.add(identity.deviceId);
    this.#asked.add({ deviceId: identity.deviceId, trigger: 'subscribe' });
  }

  #scheduled(deviceId: string): void {
    if (!this.deps.broker.isConnected({ kind: 'device', deviceId })) return;
    void this.#challenge(deviceId, 'schedule');
  }

  async #challenge(deviceId: string, trigger: ChallengeTrigger): Promise<void> {
    try {
      const r = await this.issuer.issue(deviceId, trigger);
      if (!r.ok) {
        this.scheduler.remove(deviceId);
        this.#log.debug({ deviceId, reason: r.reason, trigger }, 'no challenge sent');
      } else if (trigger !== 'schedule' && !r.reused) {
        this.scheduler.reschedule(deviceId);
      }
    } catch (err) {
      this.#log.error({ err, deviceId, trigger }, 'challenge failed');
    }
  }

  /** The device's queue is full: answer `overloaded` at once and record it, without appraising. */
  async #refuse(deviceId: string, payload: Uint8Array, receivedAt: number): Promise<void> {
    const message = `too much evidence waiting from ${deviceId}; this message was not appraised`;
    try {
      const device = await this.deps.store.getDevice(deviceId);
      await this.#recordFailure(deviceId, null, receivedAt, hash('sha256', payload, 'hex'), 'overloaded', message, device !== null);
      await this.#publishResult(deviceId, { v: 1, ok: false, error: 'overloaded', message });
    } catch (err) {
      this.#log.error({ err, deviceId }, 'could not refuse evidence');
    }
  }

  /**
   * Appraisal threw, typically because the store failed (disk full,
   * read-only file system, database unreachable): nothing was committed, so
   * no verdict may be published. The device is told at once with an
   * `internal-error` result that says so (rather than left waiting for an
   * answer that never comes) and answers a later challenge.
   */
  async #unappraised(deviceId: string, payload: Uint8Array, err: unknown): Promise<void> {
    const storage = err instanceof StoreError;
    this.#log.error({ err, deviceId }, storage ? 'evidence not appraised: the store failed' : 'appraisal failed unexpectedly');
    const evidence = decodeEvidence(payload);
    const challengeId = evidence instanceof ProtocolError ? undefined : evidence.challengeId;
    const message = storage
      ? 'the verifier cannot store results now (storage unavailable): this evidence was not appraised; answer the next challenge'
      : 'the verifier failed on this evidence: it was not appraised; answer the next challenge';
    const outcome: AppraisalOutcome = { ok: false, ...(challengeId !== undefined ? { challengeId } : {}), error: 'internal-error', message };
    await this.#publishResult(deviceId, { v: 1, ...outcome });
    this.#resolveWaiters(challengeId, outcome);
  }

  async #recordFailure(
    deviceId: string,
    challengeId: string | null,
    receivedAt: number,
    evidenceDigest: string,
    code: AttestationError,
    message: string,
    known: boolean,
    use?: ChallengeUse,
  ): Promise<'used' | undefined> {
    if (!known) {
      // No device row to attach a record to (unknown device): the log line is the record.
      this.#log.warn({ deviceId, error: code }, 'evidence from an unknown device');
      return undefined;
    }
    const recorded = await this.#record(use, {
      attestation: { deviceId, challengeId, receivedAt, evidenceDigest, status: 'none', verdict: null, error: { code, message: message.slice(0, 1024) }, policy: null, tpmClock: null },
      actor: 'verifier',
    });
    return recorded === 'used' ? 'used' : undefined;
  }

  /**
   * `store.recordAttestation`, or with the use of the sealed challenge the
   * evidence answered `store.recordAnswer`, committed together with the other
   * writes of this turn.
   */
  #record(use: ChallengeUse | undefined, input: RecordAttestationInput): Promise<RecordAnswerResult> {
    return use === undefined ? this.#write({ kind: 'record-attestation', input }) : this.#write({ kind: 'record-answer', use, input });
  }

  /** A write committed with the others of this turn (`store.applyBatch`); its StoreError is thrown. */
  async #write<W extends BatchedWrite>(write: W): Promise<Exclude<BatchedOutcome<W>, StoreError>> {
    const outcome = await this.#writes.submit(write);
    if (outcome instanceof StoreError) throw outcome;
    return outcome as Exclude<BatchedOutcome<W>, StoreError>;
  }

  async #publishResult(deviceId: string, result: AttestationResult): Promise<void> {
    try {
      this.deps.broker.sendToDevice(deviceId, topics.deviceResult(deviceId), encodeResult(result));
    } catch (err) {
      this.#log.error({ err, deviceId }, 'could not publish the result');
    }
  }

  #resolveWaiters(challengeId: string | undefined, outcome: AppraisalOutcome): void {
    if (challengeId === undefined) return;
    const list = this.#waiters.get(challengeId);
    if (list === undefined) return;
    this.#waiters.delete(challengeId);
    for (const w of list) w(outcome);
  }

  #removeWaiter(challengeId: string, waiter: (o: AppraisalOutcome) => void): void {
    const list = this.#waiters.get(challengeId);
    if (list === undefined) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.#waiters.delete(challengeId);
    else this.#waiters.set(challengeId, rest);
  }
}

function allReasons(verdict: Ear): VerdictReason[] {
  return Object.values(verdict.submods).flatMap((s) => s?.['vigil.reasons'] ?? []);
}

/** The revocation message: the first failing reasons, at most 512 characters. */
function summarize(reasons: readonly VerdictReason[]): string {
  const failing = reasons.filter((r) => r.code !== 'tpm-reboot' && r.code !== 'tpm-restart');
  const text = failing
    .slice(0, 4)
    .map((r) => `${r.code}${r.where?.pcr !== undefined ? ` (PCR ${r.where.pcr})` : ''}${r.where?.path !== undefined ? ` (${r.where.path})` : ''}`)
    .join('; ');
  return text.length > 512 ? `${text.slice(0, 511)}…` : text || 'contraindicated';
}
