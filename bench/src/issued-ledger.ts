/**
 * The server's side of a run's ledger that no table holds any more: the
 * challenges it issued. A sealed challenge carries its expiry, PCR
 * selection and TPM-clock anchor in its MAC'd id, so the server writes
 * nothing when it issues one (only its use, in `challenge_uses`). What it
 * issued is therefore counted where it leaves: every message the broker is
 * asked to send on a device's `devices/<id>/challenge` topic, decoded with
 * the protocol's own decoder (`decodeChallenge`), classified by the
 * `expiresAt` it carries, the same field the devices classify by
 * (`load-worker.ts`), so both sides count the same set. This counts what
 * the broker was given, independently of the verifier's own metrics: a
 * miscount in the verifier cannot hide itself here.
 *
 * A challenge is counted once per id: the issuer re-sends an open
 * challenge to a device that asks again (same id), and that is one
 * challenge. Ids are kept only while a re-send is possible (until their
 * expiry plus a grace), so the counter's memory in the measured server
 * process stays at the challenges open at once, not the run's total.
 */
import { decodeChallenge, parseTopic, ProtocolError, type AttestationChallenge } from '@vigil/protocol';
import type { Broker } from '@vigil/server';

/** Simulated devices are registered as `sim-…` (`enrollSimDevices`); real ones get `ek-…` ids from the registrar. */
export type DeviceKind = 'simulated' | 'real';

export const DEVICE_KINDS: readonly DeviceKind[] = ['simulated', 'real'];

export function deviceKindOf(deviceId: string): DeviceKind {
  return deviceId.startsWith('sim-') ? 'simulated' : 'real';
}

/** Challenges issued in the window to devices of one kind, as counted at some `now`. */
export interface IssuedCounts {
  /** Distinct challenge ids sent (a re-send of the same id counts once). */
  readonly issued: number;
  /** Of them, those whose `expiresAt` is at or before `now`: nothing can consume them any more. */
  readonly expired: number;
  /** Of them, those never handed to the device's connection (not connected, or not yet subscribed, whenever sent). */
  readonly undelivered: number;
}

export interface IssuedLedger {
  readonly simulated: IssuedCounts;
  readonly real: IssuedCounts;
  /** Messages on a challenge topic the protocol's decoder refused (a server bug if ever non-zero); not in any window. */
  readonly undecodable: number;
}

/**
 * A re-send carries the id's original `expiresAt`, and the issuer re-sends
 * only unexpired challenges (`ChallengeIssuer.issue`); an id is forgotten
 * this long after its expiry all the same, so a late re-send would still
 * count once.
 */
const FORGET_AFTER_EXPIRY_MS = 60_000;

interface Open {
  readonly expiresAt: number;
  readonly kind: DeviceKind;
  handed: boolean;
}

type Counts = { issued: number; expired: number; undelivered: number };
const zero = (): Counts => ({ issued: 0, expired: 0, undelivered: 0 });

/** Counts the distinct challenges sent whose `expiresAt` is in the window [from, to) (epoch ms). */
export class IssuedChallenges {
  #from = Number.POSITIVE_INFINITY;
  #to = Number.NEGATIVE_INFINITY;
  /** Ids that may still be re-sent, in the order first sent (expiries nearly ascending: one TTL for all). */
  readonly #open = new Map<string, Open>();
  /** Ids forgotten: all expired, so only their totals are kept. */
  readonly #forgotten: Record<DeviceKind, Counts> = { simulated: zero(), real: zero() };
  #undecodable = 0;

  /** Counts, from now on, challenges whose `expiresAt` (epoch ms) is in [from, to); what was counted before is dropped. */
  setWindow(from: number, to: number): void {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to) throw new RangeError(`not a ledger window: [${from}, ${to})`);
    this.#from = from;
    this.#to = to;
    this.#open.clear();
    this.#forgotten.simulated = zero();
    this.#forgotten.real = zero();
    this.#undecodable = 0;
  }

  /**
   * One message the broker was asked to send to `deviceId` on `topic` at
   * `now`; `handed` is whether it reached the device's connection. Anything
   * but that device's own challenge topic is ignored.
   */
  sent(deviceId: string, topic: string, payload: Uint8Array, handed: boolean, now: number): void {
    // A challenge sent at `now` expires after it (a new one at now + TTL, a re-send only while
    // open): once `now` is past the window's end nothing more can fall in it, so skip the decode.
    if (now >= this.#to || !topic.endsWith('/challenge')) return;
    // parseTopic, not the topic builder: it returns null for a bad id where the builder throws,
    // and nothing here may throw into the broker's send.
    const parsed = parseTopic(topic);
    if (parsed?.kind !== 'device-challenge' || parsed.deviceId !== deviceId) return;
    const decoded: AttestationChallenge | ProtocolError = decodeChallenge(payload);
    if (decoded instanceof ProtocolError) {
      this.#undecodable++;
      return;
    }
    const { challengeId, expiresAt } = decoded;
    if (expiresAt < this.#from || expiresAt >= this.#to) return;
    const seen = this.#open.get(challengeId);
    if (seen !== undefined) seen.handed ||= handed;
    else this.#open.set(challengeId, { expiresAt, kind: deviceKindOf(deviceId), handed });
    this.#forget(now);
  }

  /** The window's counts by device kind, expiry judged at `now` (no earlier than the last send observed: forgotten ids count as expired). */
  counts(now: number): IssuedLedger {
    const out: Record<DeviceKind, Counts> = { simulated: { ...this.#forgotten.simulated }, real: { ...this.#forgotten.real } };
    for (const c of this.#open.values()) {
      const k = out[c.kind];
      k.issued++;
      if (c.expiresAt <= now) k.expired++;
      if (!c.handed) k.undelivered++;
    }
    return { ...out, undecodable: this.#undecodable };
  }

  /** How many ids are held for re-send detection (the counter's memory). */
  get held(): number {
    return this.#open.size;
  }

  /** Moves ids long past their expiry to the totals; stops at the first one still held (ids come in nearly expiry order). */
  #forget(now: number): void {
    for (const [id, c] of this.#open) {
      if (c.expiresAt > now - FORGET_AFTER_EXPIRY_MS) break;
      const k = this.#forgotten[c.kind];
      k.issued++;
      k.expired++;
      if (!c.handed) k.undelivered++;
      this.#open.delete(id);
    }
  }
}

/**
 * Observes every `sendToDevice` of `broker` (how the verifier sends
 * challenges and results) into `ledger`, by wrapping the method on the
 * broker object the verifier holds: the broker has no send listener, and
 * the wrapper adds one call and a string test to each send while no window
 * is open. Returns the function that removes it.
 */
export function observeIssuedChallenges(broker: Broker, ledger: IssuedChallenges, clock: () => number = Date.now): () => void {
  const send = broker.sendToDevice;
  broker.sendToDevice = (deviceId, topic, payload) => {
    const handed = send.call(broker, deviceId, topic, payload);
    ledger.sent(deviceId, topic, payload, handed, clock());
    return handed;
  };
  return () => {
    broker.sendToDevice = send;
  };
}
