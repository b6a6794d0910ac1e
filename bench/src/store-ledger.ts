/**
 * The store's side of a run's ledger, read from the server's SQLite
 * database: which challenges of a window (by their `expires_at`, the same
 * `expiresAt` the devices received) evidence consumed, and the attestations
 * recorded for them. Sealed challenges are not stored when issued, so the
 * store knows only their uses (`challenge_uses`, one row per challenge
 * consumed); what was issued comes from the wire (`issued-ledger.ts`), and
 * `serverLedger` sets the two against each other. Read with the `sqlite3`
 * CLI in read-only mode beside the running server (WAL lets a reader in
 * without blocking it); the server's own code is not involved, so a
 * miscount there cannot hide itself here.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DeviceKind, IssuedCounts } from './issued-ledger.js';

const run = promisify(execFile);

export interface StoreLedger {
  /** Uses recorded (`challenge_uses`): the verifier accepted the challenge as fresh, unused and this device's. */
  readonly consumed: number;
  /** Of them, those whose expiry is at or before the `now` the ledger was read at. */
  readonly consumedExpired: number;
  /** Distinct consumed challenges with at least one attestation recorded. */
  readonly recorded: number;
  /** Those attestation rows by EAR status, or by error code for evidence that got an error result. */
  readonly recordedByOutcome: Readonly<Record<string, number>>;
}

export type StoreLedgers = Readonly<Record<DeviceKind, StoreLedger>>;

async function query(database: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run('sqlite3', ['-readonly', '-json', database, sql], { maxBuffer: 16 * 2 ** 20 });
  return stdout.trim() === '' ? [] : (JSON.parse(stdout) as Array<Record<string, unknown>>);
}

function int(x: unknown): number {
  const n = Number(x ?? 0);
  if (!Number.isSafeInteger(n)) throw new TypeError(`the store ledger query returned ${String(x)} where a count belongs`);
  return n;
}

function kindOf(x: unknown): DeviceKind {
  if (x === 'simulated' || x === 'real') return x;
  throw new TypeError(`the store ledger query returned ${String(x)} where a device kind belongs`);
}

/** The two queries of the store's ledger for the window [from, to) of expiries, read at `now`. */
export function storeLedgerQueries(from: number, to: number, now: number): { readonly uses: string; readonly recorded: string } {
  if (![from, to, now].every(Number.isSafeInteger)) throw new RangeError('ledger bounds must be integer epoch milliseconds');
  const kind = `CASE WHEN u.device_id LIKE 'sim-%' THEN 'simulated' ELSE 'real' END`;
  const window = `u.expires_at >= ${from} AND u.expires_at < ${to}`;
  return {
    // A range of challenge_uses' primary key, which starts with the expiry (migration 6; its README, "challenge uses").
    uses: `SELECT ${kind} AS kind, count(*) AS consumed, sum(u.expires_at <= ${now}) AS consumed_expired
       FROM challenge_uses u WHERE ${window} GROUP BY kind`,
    // From the window's uses (a range of the key) to their attestations. The attestations table has
    // no index on challenge_id, so SQLite builds an automatic index on it for the join, once per
    // query (its query optimizer overview, "Automatic Indexes"). Not the other way round: the
    // uses' key starts with the expiry, so a lookup by id alone would scan them per attestation.
    recorded: `SELECT ${kind} AS kind, coalesce(a.error_code, a.status) AS outcome, count(*) AS rows, count(DISTINCT a.challenge_id) AS challenges
       FROM challenge_uses u JOIN attestations a ON a.challenge_id = u.id WHERE ${window} GROUP BY kind, outcome`,
  };
}

/** The store's ledger of challenges whose expiry is in [from, to) (epoch ms), by device kind, as it holds it at `now`. */
export async function readStoreLedger(database: string, from: number, to: number, now: number): Promise<StoreLedgers> {
  const queries = storeLedgerQueries(from, to, now);
  const uses = await query(database, queries.uses);
  const recorded = await query(database, queries.recorded);
  const out: Record<DeviceKind, { consumed: number; consumedExpired: number; recorded: number; recordedByOutcome: Record<string, number> }> = {
    simulated: { consumed: 0, consumedExpired: 0, recorded: 0, recordedByOutcome: {} },
    real: { consumed: 0, consumedExpired: 0, recorded: 0, recordedByOutcome: {} },
  };
  for (const r of uses) {
    const k = out[kindOf(r['kind'])];
    k.consumed = int(r['consumed']);
    k.consumedExpired = int(r['consumed_expired']);
  }
  for (const r of recorded) {
    const k = out[kindOf(r['kind'])];
    k.recordedByOutcome[String(r['outcome'])] = int(r['rows']);
    // A challenge is consumed once, so its attestations fall under one outcome: distinct counts add up.
    k.recorded += int(r['challenges']);
  }
  return out;
}

/** One device kind's side of the server in a run's ledger: issued (the wire) set against consumed and recorded (the store). */
export interface ServerLedger {
  /** Distinct challenges the broker was given to send in the window. */
  readonly issued: number;
  /** Issued, never handed to the device's connection (it was not connected or not subscribed). */
  readonly undelivered: number;
  readonly consumed: number;
  /** Issued, not consumed, past their expiry. */
  readonly expiredUnused: number;
  /** Issued, not consumed, not yet expired when read (the run ended too soon to tell). */
  readonly open: number;
  readonly recorded: number;
  readonly recordedByOutcome: Readonly<Record<string, number>>;
}

/**
 * Issued minus consumed, split by expiry at the one `now` both sides were
 * counted at. A use the wire never showed would make these negative, and
 * the gap report shows a negative count as it is rather than hiding it.
 */
export function serverLedger(issued: IssuedCounts, store: StoreLedger): ServerLedger {
  return {
    issued: issued.issued,
    undelivered: issued.undelivered,
    consumed: store.consumed,
    expiredUnused: issued.expired - store.consumedExpired,
    open: issued.issued - issued.expired - (store.consumed - store.consumedExpired),
    recorded: store.recorded,
    recordedByOutcome: store.recordedByOutcome,
  };
}
