/**
 * The server's side of a run's ledger, read from its SQLite database: the
 * challenges it issued in a window (by their `expires_at`, the same
 * `expiresAt` the devices received, so both sides classify each challenge
 * alike), which of them evidence consumed, which expired unused, and the
 * attestations recorded for them. Read with the `sqlite3` CLI in read-only
 * mode beside the running server (WAL lets a reader in without blocking
 * it); the server's own code is not involved, so a miscount there cannot
 * hide itself here.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Simulated devices are registered as `sim-…` (`enrollSimDevices`); real ones get `ek-…` ids from the registrar. */
export type DeviceKind = 'simulated' | 'real';

export interface StoreLedger {
  readonly issued: number;
  /** Consumed by evidence (`used_at` set): the verifier accepted the challenge as fresh, unused and this device's. */
  readonly consumed: number;
  /** Never consumed and past their expiry when read. */
  readonly expiredUnused: number;
  /** Never consumed and not yet expired when read (the run ended too soon to tell). */
  readonly open: number;
  /** Distinct challenges of the window with at least one attestation recorded. */
  readonly recorded: number;
  /** Attestation rows by EAR status, or by error code for evidence that got an error result. */
  readonly recordedByOutcome: Readonly<Record<string, number>>;
}

export type StoreLedgers = Readonly<Record<DeviceKind, StoreLedger>>;

const EMPTY: StoreLedger = { issued: 0, consumed: 0, expiredUnused: 0, open: 0, recorded: 0, recordedByOutcome: {} };

async function query(database: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run('sqlite3', ['-readonly', '-json', database, sql], { maxBuffer: 16 * 2 ** 20 });
  return stdout.trim() === '' ? [] : (JSON.parse(stdout) as Array<Record<string, unknown>>);
}

function int(x: unknown): number {
  const n = Number(x ?? 0);
  if (!Number.isSafeInteger(n)) throw new TypeError(`the store ledger query returned ${String(x)} where a count belongs`);
  return n;
}

/** The ledger of challenges whose expiry is in [from, to) (epoch ms), by device kind, as the store holds it at `now`. */
export async function readStoreLedger(database: string, from: number, to: number, now = Date.now()): Promise<StoreLedgers> {
  if (![from, to, now].every(Number.isSafeInteger)) throw new RangeError('ledger bounds must be integer epoch milliseconds');
  const kind = `CASE WHEN c.device_id LIKE 'sim-%' THEN 'simulated' ELSE 'real' END`;
  const window = `c.expires_at >= ${from} AND c.expires_at < ${to}`;
  const challenges = await query(
    database,
    `SELECT ${kind} AS kind, count(*) AS issued, sum(c.used_at IS NOT NULL) AS consumed,
            sum(c.used_at IS NULL AND c.expires_at <= ${now}) AS expired_unused, sum(c.used_at IS NULL AND c.expires_at > ${now}) AS open
       FROM challenges c WHERE ${window} GROUP BY kind`,
  );
  // From the attestations to their challenges (primary key): the attestations table has no index on challenge_id.
  const recorded = await query(
    database,
    `SELECT ${kind} AS kind, coalesce(a.error_code, a.status) AS outcome, count(*) AS rows, count(DISTINCT a.challenge_id) AS challenges
       FROM attestations a JOIN challenges c ON c.id = a.challenge_id WHERE ${window} GROUP BY kind, outcome`,
  );
  const out: Record<DeviceKind, { -readonly [K in keyof StoreLedger]: StoreLedger[K] }> = { simulated: { ...EMPTY, recordedByOutcome: {} }, real: { ...EMPTY, recordedByOutcome: {} } };
  for (const r of challenges) {
    const k = out[r['kind'] as DeviceKind];
    k.issued = int(r['issued']);
    k.consumed = int(r['consumed']);
    k.expiredUnused = int(r['expired_unused']);
    k.open = int(r['open']);
  }
  for (const r of recorded) {
    const k = out[r['kind'] as DeviceKind];
    (k.recordedByOutcome as Record<string, number>)[String(r['outcome'])] = int(r['rows']);
    // A challenge is consumed once, so its attestations fall under one outcome: distinct counts add up.
    k.recorded += int(r['challenges']);
  }
  return out;
}
