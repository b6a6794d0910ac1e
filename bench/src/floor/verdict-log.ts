/**
 * The `mqtt-json-sqlite` rung's store: the least a verifier can write to
 * keep the design's promises about a verdict — that a challenge is used
 * once, also across a restart (a use row, its id the primary key), and that
 * every verdict is stored before it is published (an attestation row,
 * indexed by device for its history). SQLite in WAL mode with
 * `synchronous = NORMAL`, as the server's embedded store. Writes are
 * group-committed: every record of one turn of the event loop goes into
 * one transaction, and each caller hears once it is committed.
 */
import Database from 'better-sqlite3';

export interface VerdictRecord {
  readonly challengeId: string;
  readonly deviceId: string;
  readonly expiresAt: number;
  readonly receivedAt: number;
  readonly status: string;
  /** The result as published (JSON). */
  readonly result: Uint8Array;
}

/** Committed: `true`; the challenge was already used: `false`; the transaction failed: the error. */
export type RecordOutcome = boolean | Error;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS challenge_uses (id TEXT PRIMARY KEY, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attestations (
  id INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL,
  challenge_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  result BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS attestations_by_device ON attestations (device_id, received_at);
`;

export class FloorVerdictLog {
  readonly #db: Database.Database;
  readonly #insertUse: Database.Statement<[string, string, number]>;
  readonly #insertAttestation: Database.Statement<[string, string, number, string, Uint8Array]>;
  readonly #commit: Database.Transaction<(batch: readonly VerdictRecord[]) => boolean[]>;
  #pending: Array<{ readonly record: VerdictRecord; readonly done: (outcome: RecordOutcome) => void }> = [];
  #flushQueued = false;
  /** Transactions committed (one per turn that had records). */
  commits = 0;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    this.#insertUse = this.#db.prepare('INSERT INTO challenge_uses (id, device_id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    this.#insertAttestation = this.#db.prepare('INSERT INTO attestations (device_id, challenge_id, received_at, status, result) VALUES (?, ?, ?, ?, ?)');
    this.#commit = this.#db.transaction((batch: readonly VerdictRecord[]) =>
      batch.map((r) => {
        // A use that is already there is a replay: nothing of it is stored.
        if (this.#insertUse.run(r.challengeId, r.deviceId, r.expiresAt).changes !== 1) return false;
        this.#insertAttestation.run(r.deviceId, r.challengeId, r.receivedAt, r.status, r.result);
        return true;
      }),
    );
  }

  /** Queues `record` for this turn's transaction; `done` is called once it is committed or has failed. */
  record(record: VerdictRecord, done: (outcome: RecordOutcome) => void): void {
    this.#pending.push({ record, done });
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    const batch = this.#pending;
    this.#pending = [];
    let outcomes: RecordOutcome[];
    try {
      outcomes = this.#commit.immediate(batch.map((p) => p.record));
      this.commits++;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      outcomes = batch.map(() => error);
    }
    batch.forEach((p, i) => p.done(outcomes[i]!));
  }

  /** Rows in each table (for tests and the run's sanity check). */
  counts(): { readonly uses: number; readonly attestations: number } {
    const count = (table: string) => (this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { uses: count('challenge_uses'), attestations: count('attestations') };
  }

  close(): void {
    this.#db.close();
  }
}
