/**
 * The fleet benchmark's ledger without a challenges table
 * (bench/src/issued-ledger.ts, bench/src/store-ledger.ts): challenges
 * issued are counted off the broker's sends (distinct ids, classified by
 * the `expiresAt` they carry), consumed and recorded are read from a real
 * SQLite file with the server's own schema (its migrations, so a change to
 * `challenge_uses` or `attestations` breaks this test, not the benchmark
 * run), and the two are set against each other. Every expected count comes
 * from a direct model over the generated challenges.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChallenge, topics, type AttestationChallenge } from '@vigil/protocol';
import type { Broker } from '@vigil/server';
import { gapsOf } from '../bench/src/fleet-scale.js';
import type { LedgerCounts } from '../bench/src/fleet/index.js';
import { DEVICE_KINDS, deviceKindOf, IssuedChallenges, observeIssuedChallenges, type DeviceKind } from '../bench/src/issued-ledger.js';
import { readStoreLedger, serverLedger, storeLedgerQueries, type ServerLedger } from '../bench/src/store-ledger.js';
import { openSqliteStore } from '../server/src/store/index.js';

const SEC = 1000;
const FROM = 1_800_000_000_000;
const TO = FROM + 100 * SEC;
const TTL = 10 * SEC;

/** A challenge id as long as a sealed one (38-96 base64url characters), unique per index. */
const idOf = (i: number): string => `sealed_${i.toString(36).padStart(40, 'A')}`;

function payload(challengeId: string, expiresAt: number): Uint8Array {
  const message: AttestationChallenge = {
    v: 1,
    challengeId,
    nonce: '5a'.repeat(32),
    pcrSelection: { sha256: [0, 1, 7, 13] },
    offsets: { imaEntries: 0, modelEntries: 0 },
    expiresAt,
  };
  return encodeChallenge(message);
}

const send = (ledger: IssuedChallenges, deviceId: string, challengeId: string, expiresAt: number, handed: boolean, now: number): void =>
  ledger.sent(deviceId, topics.deviceChallenge(deviceId), payload(challengeId, expiresAt), handed, now);

describe('IssuedChallenges: challenges counted off the wire', () => {
  it('counts a re-sent challenge once, delivered if any send reached the connection', () => {
    const ledger = new IssuedChallenges();
    ledger.setWindow(FROM, TO);
    const at = FROM + 5 * SEC;
    send(ledger, 'sim-1', idOf(1), at + TTL, false, at);
    send(ledger, 'sim-1', idOf(1), at + TTL, true, at + SEC);
    send(ledger, 'sim-2', idOf(2), at + TTL, false, at);
    send(ledger, 'sim-2', idOf(2), at + TTL, false, at + SEC);
    const c = ledger.counts(at + 2 * SEC);
    expect(c.simulated).toEqual({ issued: 2, expired: 0, undelivered: 1 });
    expect(ledger.counts(at + TTL).simulated.expired).toBe(2);
  });

  it('takes the window as [from, to) of expiresAt, and device kinds by the sim- prefix', () => {
    const ledger = new IssuedChallenges();
    ledger.setWindow(FROM, TO);
    const cases: Array<[string, number, boolean]> = [
      ['sim-a', FROM - 1, false],
      ['sim-b', FROM, true],
      ['sim-c', TO - 1, true],
      ['sim-d', TO, false],
      ['ek-0123abcd', FROM + SEC, true],
    ];
    cases.forEach(([device, expiresAt], i) => send(ledger, device, idOf(i), expiresAt, true, FROM - TTL));
    const c = ledger.counts(FROM - TTL);
    const inWindow = (kind: DeviceKind) => cases.filter(([d, , counted]) => counted && deviceKindOf(d) === kind).length;
    expect(c.simulated.issued).toBe(inWindow('simulated'));
    expect(c.real.issued).toBe(inWindow('real'));
    expect(c.simulated.issued + c.real.issued).toBeGreaterThan(0);
  });

  it('ignores results, other devices\' topics and everything before a window is set; counts undecodable challenges', () => {
    const ledger = new IssuedChallenges();
    const at = FROM;
    send(ledger, 'sim-1', idOf(1), at + TTL, true, at); // no window yet
    ledger.setWindow(FROM, TO);
    ledger.sent('sim-1', topics.deviceResult('sim-1'), payload(idOf(2), at + TTL), true, at);
    ledger.sent('sim-1', topics.deviceChallenge('sim-2'), payload(idOf(3), at + TTL), true, at);
    ledger.sent('sim-1', topics.deviceChallenge('sim-1'), new TextEncoder().encode('{"v":1,"challengeId":"x"}'), true, at);
    // Never a throw into the broker's send, whatever the id: this one no topic builder would make.
    expect(() => ledger.sent('Sim 1/#', 'vigil/v1/devices/Sim 1/#/challenge', payload(idOf(4), at + TTL), true, at)).not.toThrow();
    const c = ledger.counts(at);
    expect(c.simulated.issued + c.real.issued).toBe(0);
    expect(c.undecodable).toBe(1);
  });

  it('counts once a challenge re-sent within a minute after its expiry, however many others came between', () => {
    const ledger = new IssuedChallenges();
    ledger.setWindow(FROM, TO);
    const expiry = FROM + TTL;
    send(ledger, 'sim-1', idOf(1), expiry, true, expiry - TTL);
    send(ledger, 'sim-2', idOf(2), expiry + 30 * SEC + TTL, true, expiry + 30 * SEC); // moves what it may forget
    send(ledger, 'sim-1', idOf(1), expiry, true, expiry + 40 * SEC);
    expect(ledger.counts(expiry + 40 * SEC).simulated.issued).toBe(2);
  });

  it('refuses a window that is not one', () => {
    expect(() => new IssuedChallenges().setWindow(TO, FROM)).toThrow(RangeError);
    expect(() => new IssuedChallenges().setWindow(FROM, Number.NaN)).toThrow(RangeError);
  });

  it('forgets ids long past their expiry without changing the counts', () => {
    const ledger = new IssuedChallenges();
    ledger.setWindow(FROM, TO);
    for (let i = 0; i < 90; i++) send(ledger, 'sim-1', idOf(i), FROM + i * SEC + TTL, i % 3 !== 0, FROM + i * SEC);
    const now = FROM + 89 * SEC;
    expect(ledger.held).toBeLessThan(90);
    expect(ledger.counts(now).simulated).toEqual({ issued: 90, expired: 90 - TTL / SEC, undelivered: 30 });
  });

  it('observes a broker\'s sends and passes their result through, until removed', () => {
    const handedTo = new Set(['sim-1']);
    const sends: string[] = [];
    const broker = {
      sendToDevice(deviceId: string, topic: string) {
        sends.push(topic);
        return handedTo.has(deviceId);
      },
    } as unknown as Broker; // only sendToDevice is used: a pure-logic stand-in
    const ledger = new IssuedChallenges();
    ledger.setWindow(FROM, TO);
    const now = FROM;
    const unobserve = observeIssuedChallenges(broker, ledger, () => now);
    expect(broker.sendToDevice('sim-1', topics.deviceChallenge('sim-1'), payload(idOf(1), FROM + TTL))).toBe(true);
    expect(broker.sendToDevice('sim-2', topics.deviceChallenge('sim-2'), payload(idOf(2), FROM + TTL))).toBe(false);
    unobserve();
    broker.sendToDevice('sim-3', topics.deviceChallenge('sim-3'), payload(idOf(3), FROM + TTL));
    expect(sends).toHaveLength(3);
    expect(ledger.counts(now).simulated).toEqual({ issued: 2, expired: 0, undelivered: 1 });
  });
});

/** One generated challenge of a run and what became of it. */
interface Case {
  readonly device: string;
  readonly expiresAt: number;
  /** Each send: seconds after issue (before expiry), and whether the connection took it. */
  readonly sends: ReadonlyArray<{ readonly after: number; readonly handed: boolean }>;
  readonly consumed: boolean;
  /** Attestation rows recorded for it (only if consumed) and their outcome. */
  readonly rows: number;
  readonly outcome: 'affirming' | 'contraindicated' | 'error:quote-signature';
}

/** A challenge issued by `now` (the ledger is read at `now`): its expiry at most a TTL later, every send by then. */
const caseArb = (now: number): fc.Arbitrary<Case> =>
  fc.record({
    device: fc.constantFrom('sim-0', 'sim-1', 'sim-22', 'ek-5f00aa', 'ek-77'),
    // On whole seconds, as `now` is: expiries at the window's edges and at `now` itself come up often.
    expiresAt: fc.integer({ min: FROM / SEC - 15, max: Math.min(TO + 15 * SEC, now + TTL) / SEC }).map((s) => s * SEC),
    sends: fc.array(fc.record({ after: fc.integer({ min: 0, max: TTL / SEC - 1 }), handed: fc.boolean() }), { minLength: 1, maxLength: 3 }),
    consumed: fc.boolean(),
    rows: fc.integer({ min: 0, max: 2 }),
    outcome: fc.constantFrom('affirming' as const, 'contraindicated' as const, 'error:quote-signature' as const),
  });

/** What the ledger must say, straight from the cases. */
function model(cases: readonly Case[], kind: DeviceKind, now: number): ServerLedger {
  const mine = cases.filter((c) => deviceKindOf(c.device) === kind && c.expiresAt >= FROM && c.expiresAt < TO);
  const recorded = mine.filter((c) => c.consumed && c.rows > 0);
  const byOutcome: Record<string, number> = {};
  for (const c of recorded) {
    const outcome = c.outcome.replace(/^error:/, ''); // the store's column is the error code itself
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + c.rows;
  }
  return {
    issued: mine.length,
    undelivered: mine.filter((c) => c.sends.every((s) => !s.handed)).length,
    consumed: mine.filter((c) => c.consumed).length,
    expiredUnused: mine.filter((c) => !c.consumed && c.expiresAt <= now).length,
    open: mine.filter((c) => !c.consumed && c.expiresAt > now).length,
    recorded: recorded.length,
    recordedByOutcome: byOutcome,
  };
}

describe('the server side of the ledger: the wire against a real SQLite store', () => {
  let dir: string;
  let template: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-store-ledger-'));
    template = join(dir, 'template.db');
    // The server's own schema: every migration, challenge_uses and attestations included.
    const store = await openSqliteStore(template);
    await store.close();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issued, undelivered, consumed, expired unused, open and recorded match the model for any run', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: FROM / SEC - 5, max: TO / SEC + 20 }).map((s) => s * SEC).chain((now) => fc.tuple(fc.constant(now), fc.array(caseArb(now), { maxLength: 40 }))),
        async ([now, cases]) => {
        const database = join(dir, `run-${run++}.db`);
        copyFileSync(template, database);
        const db = new Database(database);
        try {
          db.pragma('foreign_keys = OFF'); // rows of challenge_uses and attestations only, no devices
          const use = db.prepare('INSERT INTO challenge_uses (id, device_id, used_at, expires_at) VALUES (?, ?, ?, ?)');
          const attest = db.prepare(
            `INSERT INTO attestations (device_id, challenge_id, received_at, evidence_digest, status, error_code, reasons) VALUES (?, ?, ?, 'd', ?, ?, '[]')`,
          );
          db.transaction(() => {
            cases.forEach((c, i) => {
              // Evidence refused before its use (no challenge_uses row) is recorded too: it must not count.
              if (!c.consumed) {
                if (c.rows > 0) attest.run(c.device, idOf(i), c.expiresAt - SEC, 'none', 'challenge-expired');
                return;
              }
              use.run(idOf(i), c.device, c.expiresAt - TTL, c.expiresAt);
              const error = c.outcome.startsWith('error:') ? c.outcome.slice('error:'.length) : null;
              for (let r = 0; r < c.rows; r++) attest.run(c.device, idOf(i), c.expiresAt - SEC, error === null ? c.outcome : 'none', error);
            });
            attest.run('sim-0', null, FROM, 'none', 'schema'); // no challenge at all
          })();
        } finally {
          db.close();
        }

        const ledger = new IssuedChallenges();
        ledger.setWindow(FROM, TO);
        // The broker sees the sends in time order, as in a run.
        const sends = cases.flatMap((c, i) => c.sends.map((s) => ({ c, i, at: Math.min(c.expiresAt - TTL + s.after * SEC, now), handed: s.handed })));
        sends.sort((a, b) => a.at - b.at);
        for (const s of sends) send(ledger, s.c.device, idOf(s.i), s.c.expiresAt, s.handed, s.at);

        const store = await readStoreLedger(database, FROM, TO, now);
        const issued = ledger.counts(now);
        for (const kind of DEVICE_KINDS) expect(serverLedger(issued[kind], store[kind]), kind).toEqual(model(cases, kind, now));
        rmSync(database);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a window that is not integer epoch milliseconds', async () => {
    await expect(readStoreLedger(template, FROM, Number.NaN, FROM)).rejects.toThrow(RangeError);
  });

  it('reaches every row it reads through an index: no table is scanned once per row of another', () => {
    // A fleet run's ledger joins ~100,000 uses and attestations: a plan that scanned one table per
    // row of the other (as a lookup of uses by id alone would, their key starting with the expiry)
    // would not finish in the run's time.
    const db = new Database(template, { readonly: true });
    try {
      for (const sql of Object.values(storeLedgerQueries(FROM, TO, TO))) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail);
        expect(plan.filter((d) => /^SCAN (u|a)\b/.test(d)), plan.join('\n')).toEqual([]);
        expect(plan.some((d) => /^SEARCH u USING PRIMARY KEY \(expires_at>\? AND expires_at<\?\)/.test(d)), plan.join('\n')).toBe(true);
      }
    } finally {
      db.close();
    }
  });
});

describe('gapsOf: the ledger\'s gap report', () => {
  const perfect: ServerLedger = { issued: 10, undelivered: 0, consumed: 10, expiredUnused: 0, open: 0, recorded: 10, recordedByOutcome: { affirming: 10 } };
  const devices: LedgerCounts = { received: 10, answered: 10, evidenceFailed: 0, results: { affirming: 10 } };

  it('names no gap when every issued challenge got a verdict', () => {
    const { gaps, verdictsReceived } = gapsOf(perfect, devices);
    expect(gaps).toEqual([]);
    expect(verdictsReceived).toBe(perfect.issued);
  });

  it('tells a challenge never handed to a connection from one lost after it', () => {
    const lostOnWire = gapsOf({ ...perfect, consumed: 9, expiredUnused: 1, recorded: 9 }, { ...devices, received: 9, answered: 9, results: { affirming: 9 } });
    const notHanded = gapsOf(
      { ...perfect, undelivered: 1, consumed: 9, expiredUnused: 1, recorded: 9 },
      { ...devices, received: 9, answered: 9, results: { affirming: 9 } },
    );
    const what = (g: ReturnType<typeof gapsOf>) => g.gaps.map((x) => `${x.count} ${x.what}`);
    expect(what(lostOnWire)).toContain("1 handed to the device's connection, never received by the device");
    expect(what(lostOnWire).some((w) => w.includes('never handed'))).toBe(false);
    expect(what(notHanded)).toContain("1 issued by the server, never handed to the device's connection");
    expect(what(notHanded).some((w) => w.includes('never received'))).toBe(false);
    for (const g of [lostOnWire, notHanded]) expect(what(g)).toContain('1 issued, expired without a use in the store');
  });
});
