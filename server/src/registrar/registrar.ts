import { encodeEnrollChallenge, encodeEnrollResult, type EnrollRejection, parseTopic, topics } from '@vigil/protocol';
import type { BootstrapIdentity, InboundMessage } from '../broker/index.js';
import type { Logger } from '../log.js';
import { EXPIRED_KEPT_MS } from '../store/index.js';
import { type EnrollmentOutcome, type EnrollmentOutcomeSink, OutcomeCounter } from './outcomes.js';
import { completeSession } from './proof.js';
import type { RegistrarContext } from './registrar-context.js';
import { EnrollmentRefusal } from './refusal.js';
import { openSession } from './request.js';

export interface RegistrarOptions extends RegistrarContext {
  /** Publishes on behalf of the server (`Broker.publish`). */
  readonly publish: (topic: string, payload: Uint8Array) => Promise<void>;
  readonly log: Logger;
  /** Told of every outcome (the metrics counter). */
  readonly onOutcome?: EnrollmentOutcomeSink;
  /**
   * A re-enrollment revoked the device's earlier certificates (already
   * committed in the store): reissue the CRL and refuse them at the broker.
   */
  readonly onSuperseded?: (deviceId: string, serials: readonly string[]) => Promise<void>;
  /** Enrollment messages handled at once, over all clients; beyond it a client is told to retry. Default 64. */
  readonly maxInFlight?: number;
  /** Milliseconds since the epoch; tests pass a fixed clock. */
  readonly clock?: () => number;
}

type Stage = 'request' | 'proof';

/** Housekeeping: forget superseded-session bookkeeping and prune long-expired sessions from the store. */
const SWEEP_INTERVAL_MS = 60 * 60_000;
const MAX_MESSAGE_LENGTH = 512;

/**
 * The registrar: turns a bootstrap client with a TPM and a token into a
 * fleet device. It consumes `enroll/<bootstrapId>/request` and `.../proof`
 * from the broker and answers on `.../challenge` and `.../result` (see
 * README.md). The client is named by its TLS certificate only
 * (`message.identity`), never by the topic or the payload.
 *
 * Robustness: every message ends in exactly one answer, and every refusal
 * carries a named reason and is logged and audited (`enroll.reject`); a
 * message that throws anything unexpected becomes `internal-error`, never a
 * crash. Work is bounded: one message per bootstrap client at a time (more
 * are dropped while one is handled), `maxInFlight` over all clients, one open
 * session per client (a new request replaces the previous session), and
 * sessions expire.
 */
export class Registrar {
  readonly outcomes = new OutcomeCounter();
  readonly #options: RegistrarOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #maxInFlight: number;
  /** Bootstrap ids with a message being handled. */
  readonly #busy = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  /** The open session of each bootstrap client, to replace it on a new request. */
  readonly #openSessions = new Map<string, { readonly id: string; readonly expiresAt: number }>();
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(options: RegistrarOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'registrar' });
    this.#clock = options.clock ?? Date.now;
    this.#maxInFlight = options.maxInFlight ?? 64;
    this.#sweep = setInterval(() => this.#housekeeping(), SWEEP_INTERVAL_MS);
    this.#sweep.unref();
  }

  /** Takes one broker message; ignores everything that is not a bootstrap client's request or proof. Never throws. */
  handle(message: InboundMessage): void {
    if (this.#closed || message.identity.kind !== 'bootstrap') return;
    const where = parseTopic(message.topic);
    if (where === null || (where.kind !== 'enroll-request' && where.kind !== 'enroll-proof')) return;
    const identity = message.identity;
    const bootstrapId = identity.bootstrapId;
    if (where.bootstrapId !== bootstrapId) {
      // The broker's ACL never lets this through; if it ever did, the topic would not name the client.
      this.#log.warn({ bootstrapId, topic: message.topic }, 'enrollment message on another client topic ignored');
      return;
    }
    const stage: Stage = where.kind === 'enroll-request' ? 'request' : 'proof';
    if (this.#busy.has(bootstrapId)) {
      this.#log.warn({ bootstrapId, stage }, 'enrollment message dropped: the previous one from this client is still being handled');
      return;
    }
    if (this.#busy.size >= this.#maxInFlight) {
      this.#track(this.#reject(bootstrapId, stage, new EnrollmentRefusal('internal-error', 'the registrar is busy; try again shortly')));
      return;
    }
    this.#busy.add(bootstrapId);
    this.#track(this.#process(stage, identity, message.payload));
  }

  /** Resolves when every message taken so far has been answered. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Stops taking messages and waits for the ones in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    await this.idle();
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => this.#log.error({ err }, 'enrollment handling failed'));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  async #process(stage: Stage, identity: BootstrapIdentity, payload: Uint8Array): Promise<void> {
    const bootstrapId = identity.bootstrapId;
    const now = this.#clock();
    let reply: { topic: string; payload: Uint8Array };
    try {
      if (stage === 'request') {
        const opened = await openSession(this.#options, bootstrapId, identity.publicKey, payload, now);
        await this.#replaceOpenSession(bootstrapId, { id: opened.challenge.sessionId, expiresAt: opened.challenge.expiresAt }, now);
        this.#count('challenged');
        this.#log.info({ bootstrapId, deviceId: opened.deviceId, ekName: opened.ekName, tokenId: opened.tokenId }, 'enrollment challenge sent');
        reply = { topic: topics.enrollChallenge(bootstrapId), payload: encodeEnrollChallenge(opened.challenge) };
      } else {
        const registration = await completeSession(this.#options, bootstrapId, identity.publicKey, payload, now);
        this.#openSessions.delete(bootstrapId);
        const deviceId = registration.result.deviceId;
        if (registration.supersededSerials.length > 0) await this.#superseded(deviceId, registration.supersededSerials);
        this.#count(registration.resumed === true ? 'resumed' : registration.reenrolled ? 'reenrolled' : 'enrolled');
        this.#log.info(
          { bootstrapId, deviceId, serial: registration.serial, reenrolled: registration.reenrolled },
          registration.resumed === true ? 'enrollment resumed: its certificate sent again' : 'device enrolled',
        );
        reply = { topic: topics.enrollResult(bootstrapId), payload: encodeEnrollResult(registration.result) };
      }
    } catch (err) {
      const refusal = err instanceof EnrollmentRefusal ? err : this.#internal(err, bootstrapId, stage);
      this.#busy.delete(bootstrapId);
      await this.#reject(bootstrapId, stage, refusal);
      return;
    }
    // Free the client before answering, so that its next message (sent as soon as it reads this one) is taken.
    this.#busy.delete(bootstrapId);
    await this.#send(reply);
  }

  /** Records and answers a refusal: counted, logged, audited (`enroll.reject`), published as a result. */
  async #reject(bootstrapId: string, stage: Stage, refusal: EnrollmentRefusal): Promise<void> {
    const message = humanText(refusal.message);
    this.#count(refusal.reason);
    this.#log.warn({ bootstrapId, stage, reason: refusal.reason, detail: message }, 'enrollment refused');
    try {
      await this.#options.store.appendAudit({
        actor: 'registrar',
        action: 'enroll.reject',
        subject: `bootstrap:${bootstrapId}`,
        details: { stage, reason: refusal.reason, message },
      });
    } catch (err) {
      this.#log.error({ err, bootstrapId }, 'could not audit an enrollment refusal');
    }
    await this.#send({ topic: topics.enrollResult(bootstrapId), payload: rejection(refusal.reason, message) });
  }

  #internal(err: unknown, bootstrapId: string, stage: Stage): EnrollmentRefusal {
    this.#log.error({ err, bootstrapId, stage }, 'enrollment failed on a server error');
    return new EnrollmentRefusal('internal-error', 'the server could not process this enrollment message; try again later');
  }

  async #send(reply: { topic: string; payload: Uint8Array }): Promise<void> {
    try {
      await this.#options.publish(reply.topic, reply.payload);
    } catch (err) {
      this.#log.error({ err, topic: reply.topic }, 'could not publish an enrollment answer');
    }
  }

  /** One open session per client: the previous one is consumed (its secret wiped), so only the newest challenge can be answered. */
  async #replaceOpenSession(bootstrapId: string, session: { id: string; expiresAt: number }, now: number): Promise<void> {
    const previous = this.#openSessions.get(bootstrapId);
    this.#openSessions.set(bootstrapId, session);
    if (previous !== undefined && previous.expiresAt > now) {
      // Best effort: if this fails, the previous session still expires on its own.
      await this.#options.store.consumeEnrollmentSession(previous.id, bootstrapId, now).catch((err: unknown) => {
        this.#log.error({ err, bootstrapId }, 'could not close the previous enrollment session');
      });
    }
  }

  async #superseded(deviceId: string, serials: readonly string[]): Promise<void> {
    try {
      await this.#options.onSuperseded?.(deviceId, serials);
    } catch (err) {
      // The re-enrollment is committed; the store has the revocations, which the next start re-applies.
      this.#log.error({ err, deviceId, serials }, 'could not publish the revocation of superseded certificates');
    }
  }

  #count(outcome: EnrollmentOutcome): void {
    this.outcomes.add(outcome);
    try {
      this.#options.onOutcome?.(outcome);
    } catch (err) {
      this.#log.error({ err }, 'enrollment outcome sink threw');
    }
  }

  #housekeeping(): void {
    const now = this.#clock();
    for (const [bootstrapId, session] of this.#openSessions) if (session.expiresAt <= now) this.#openSessions.delete(bootstrapId);
    this.#options.store.pruneExpired(now - EXPIRED_KEPT_MS).catch((err: unknown) => this.#log.error({ err }, 'pruning expired enrollment sessions failed'));
  }
}

/** Messages go to devices and the audit log: one line, no control characters, bounded. */
function humanText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return clean.length > MAX_MESSAGE_LENGTH ? `${clean.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : clean;
}

function rejection(reason: EnrollRejection, message: string): Uint8Array {
  return encodeEnrollResult({ v: 1, ok: false, reason, message });
}
