import { createHash } from 'node:crypto';
import { DEVICE_ID_PATTERN, TOPIC_ROOT } from '@vigil/protocol/core';
import Type from 'typebox';
import { jsonMessage } from './json-message.js';

/** Where replicas announce themselves: `vigil/v1/verifiers/<replica>` (verifier role only; devices can neither publish nor subscribe there). */
export const REPLICA_TOPIC_PREFIX = `${TOPIC_ROOT}/verifiers/`;
export const REPLICA_FILTER = `${TOPIC_ROOT}/verifiers/+`;

const Heartbeat = Type.Object(
  {
    v: Type.Literal(1),
    replica: Type.String({ pattern: DEVICE_ID_PATTERN }),
    state: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    /** The sender's heartbeat period: it counts as gone after three of them without a word. */
    intervalMs: Type.Number({ minimum: 100, maximum: 300_000 }),
  },
  { additionalProperties: false },
);
const heartbeat = jsonMessage(Heartbeat, 1024);

/**
 * Which replicas are alive, learnt through the broker itself, and which of
 * them schedules each device's challenges.
 *
 * Evidence and challenge requests reach exactly one replica each (the
 * shared subscription), and whichever replica gets a piece of evidence can
 * appraise it (challenges live in the store). Only the periodic challenge
 * schedule must not run on every replica at once (it would challenge every
 * device once per replica per interval), so each device's schedule belongs
 * to one live replica, chosen by rendezvous hashing (highest SHA-256 of
 * replica name and device id): every replica computes the same owner from
 * the same live set, and when a replica dies only its devices move.
 *
 * Liveness: every replica publishes `up` on its topic every `intervalMs`
 * and registers a will message `down` there, which the broker publishes
 * when the replica's connection ends without a DISCONNECT (crash, SIGKILL,
 * network loss); a graceful stop publishes `down` itself. A replica whose
 * last word is older than three of its intervals is gone too. While the
 * live sets of two replicas disagree (a few seconds after a change) a
 * device may be challenged twice or skipped once: harmless, since each
 * challenge is single-use in the store and staleness allows several
 * missed intervals.
 */
export class ReplicaMembership {
  readonly #peers = new Map<string, { lastSeen: number; intervalMs: number }>();

  constructor(
    readonly self: string,
    readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get topic(): string {
    return REPLICA_TOPIC_PREFIX + this.self;
  }

  /** The heartbeat to publish now. */
  up(): Buffer {
    return heartbeat.encode({ v: 1, replica: this.self, state: 'up', intervalMs: this.intervalMs });
  }

  /** The last word (published by us on a clean stop, by the broker as our will otherwise). */
  down(): Buffer {
    return heartbeat.encode({ v: 1, replica: this.self, state: 'down', intervalMs: this.intervalMs });
  }

  /** Takes a message of `REPLICA_FILTER`; returns true if the live set changed. */
  handle(topic: string, payload: Uint8Array): boolean {
    const m = heartbeat.decode(payload);
    // The topic names the sender: a payload naming another replica is ignored.
    if (m === undefined || topic !== REPLICA_TOPIC_PREFIX + m.replica || m.replica === this.self) return false;
    const before = this.#peers.has(m.replica) && this.#isLive(m.replica);
    if (m.state === 'down') {
      this.#peers.delete(m.replica);
      return before;
    }
    this.#peers.set(m.replica, { lastSeen: this.now(), intervalMs: m.intervalMs });
    return !before;
  }

  /** Every live replica, this one included, sorted. */
  live(): string[] {
    const out = [this.self];
    for (const name of this.#peers.keys()) if (this.#isLive(name)) out.push(name);
    return out.sort();
  }

  /** The live replica that schedules `deviceId`'s challenges. */
  ownerOf(deviceId: string): string {
    let best = this.self;
    let bestScore = -1n;
    for (const replica of this.live()) {
      const score = createHash('sha256').update(replica).update('\n').update(deviceId).digest().readBigUInt64BE(0);
      if (score > bestScore || (score === bestScore && replica < best)) {
        best = replica;
        bestScore = score;
      }
    }
    return best;
  }

  owns(deviceId: string): boolean {
    return this.ownerOf(deviceId) === this.self;
  }

  #isLive(name: string): boolean {
    const p = this.#peers.get(name);
    return p !== undefined && this.now() - p.lastSeen <= 3 * p.intervalMs;
  }
}
