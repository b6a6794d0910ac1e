/**
 * Schema migrations, applied in order, each in its own transaction, each
 * recorded in `schema_version`. Never edit a migration that has shipped:
 * add the next one. A PostgreSQL implementation keeps the same version
 * numbers with its own SQL, so both stores always describe the same schema.
 *
 * Conventions: times are INTEGER Unix milliseconds; binary is BLOB; JSON is
 * TEXT (stored exactly as written, which the audit hash relies on); booleans
 * are INTEGER 0/1; the TPM clock (a UINT64) is TEXT in decimal so no value
 * is out of range.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE devices (
        id                TEXT PRIMARY KEY,
        ek_public         BLOB NOT NULL,
        ek_name           TEXT NOT NULL UNIQUE,
        ek_certificate    BLOB,
        ak_public         BLOB NOT NULL,
        ak_name           TEXT NOT NULL,
        facts             TEXT NOT NULL,
        status            TEXT NOT NULL DEFAULT 'none'
                          CHECK (status IN ('none', 'affirming', 'warning', 'contraindicated')),
        revoked           INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
        reenroll_allowed  INTEGER NOT NULL DEFAULT 0 CHECK (reenroll_allowed IN (0, 1)),
        device_group      TEXT,
        last_verified_at  INTEGER,
        tpm_clock         TEXT,
        tpm_reset_count   INTEGER,
        tpm_restart_count INTEGER,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX devices_by_group ON devices (device_group) WHERE device_group IS NOT NULL;

      CREATE TABLE enrollment_tokens (
        id          INTEGER PRIMARY KEY,
        hash        TEXT NOT NULL UNIQUE,
        label       TEXT,
        max_uses    INTEGER NOT NULL CHECK (max_uses >= 1),
        uses        INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
        expires_at  INTEGER NOT NULL,
        device_name TEXT,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
      ) STRICT;

      CREATE TABLE enrollment_sessions (
        id           TEXT PRIMARY KEY,
        bootstrap_id TEXT NOT NULL,
        secret       BLOB NOT NULL,
        context      TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        used_at      INTEGER
      ) STRICT;
      CREATE INDEX enrollment_sessions_by_expiry ON enrollment_sessions (expires_at);

      CREATE TABLE certificates (
        serial     TEXT PRIMARY KEY,
        device_id  TEXT NOT NULL REFERENCES devices (id),
        not_before INTEGER NOT NULL,
        not_after  INTEGER NOT NULL,
        pem        TEXT NOT NULL,
        issued_at  INTEGER NOT NULL,
        revoked_at INTEGER,
        revocation_reason TEXT
      ) STRICT;
      CREATE INDEX certificates_by_device ON certificates (device_id);
      CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;

      CREATE TABLE challenges (
        id            TEXT PRIMARY KEY,
        device_id     TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        nonce         BLOB NOT NULL,
        pcr_selection TEXT NOT NULL,
        offsets       TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        used_at       INTEGER
      ) STRICT;
      CREATE INDEX challenges_by_expiry ON challenges (expires_at);

      CREATE TABLE attestations (
        id              INTEGER PRIMARY KEY,
        device_id       TEXT NOT NULL REFERENCES devices (id),
        challenge_id    TEXT,
        received_at     INTEGER NOT NULL,
        evidence_digest TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('none', 'affirming', 'warning', 'contraindicated')),
        verdict         TEXT,
        error_code      TEXT,
        error_message   TEXT,
        reasons         TEXT NOT NULL,
        policy_name     TEXT,
        policy_version  INTEGER,
        tpm_clock       TEXT,
        tpm_reset_count INTEGER,
        tpm_restart_count INTEGER
      ) STRICT;
      CREATE INDEX attestations_by_device ON attestations (device_id, id);

      CREATE TABLE revocations (
        id            INTEGER PRIMARY KEY,
        device_id     TEXT NOT NULL REFERENCES devices (id),
        reason        TEXT NOT NULL CHECK (reason IN ('contraindicated', 'stale', 'admin')),
        message       TEXT,
        serials       TEXT NOT NULL,
        actor         TEXT NOT NULL,
        revoked_at    INTEGER NOT NULL,
        reinstated_at INTEGER
      ) STRICT;
      CREATE INDEX revocations_by_device ON revocations (device_id, id);

      CREATE TABLE policies (
        name       TEXT NOT NULL,
        version    INTEGER NOT NULL CHECK (version >= 1),
        document   TEXT NOT NULL,
        digest     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (name, version)
      ) STRICT;

      CREATE TABLE policy_assignments (
        scope          TEXT NOT NULL CHECK (scope IN ('device', 'group', 'all')),
        target         TEXT NOT NULL,
        policy_name    TEXT NOT NULL,
        policy_version INTEGER,
        assigned_at    INTEGER NOT NULL,
        assigned_by    TEXT NOT NULL,
        PRIMARY KEY (scope, target)
      ) STRICT;

      CREATE TABLE model_allowlist (
        name       TEXT NOT NULL,
        digest     TEXT NOT NULL,
        note       TEXT,
        added_at   INTEGER NOT NULL,
        added_by   TEXT NOT NULL,
        revoked_at INTEGER,
        PRIMARY KEY (name, digest)
      ) STRICT;

      CREATE TABLE boot_logs (
        device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        digest    TEXT NOT NULL,
        data      BLOB NOT NULL,
        stored_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, digest)
      ) STRICT;

      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        subject   TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'admin credentials',
    sql: `
      CREATE TABLE admin_credentials (
        serial     TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        not_before INTEGER NOT NULL,
        not_after  INTEGER NOT NULL,
        issued_at  INTEGER NOT NULL,
        issued_by  TEXT NOT NULL,
        revoked_at INTEGER,
        revoked_by TEXT
      ) STRICT;
      CREATE INDEX admin_credentials_by_name ON admin_credentials (name);
    `,
  },
  {
    version: 3,
    name: 'verifier log state, revocation side effects, webhook outbox',
    sql: `
      CREATE TABLE device_log_state (
        device_id          TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
        reset_count        INTEGER,
        boot_log_digest    TEXT,
        ima_entries        INTEGER NOT NULL CHECK (ima_entries >= 0),
        ima_pcrs           TEXT NOT NULL,
        model_entries      INTEGER NOT NULL CHECK (model_entries >= 0),
        model_pcrs         TEXT NOT NULL,
        model_measurements TEXT NOT NULL,
        verified_pcrs      TEXT,
        updated_at         INTEGER NOT NULL
      ) STRICT;

      -- NULL until the CRL, the broker, the fleet event and the webhook have all
      -- been told; the server re-applies pending ones at start. Older rows count as done.
      ALTER TABLE revocations ADD COLUMN effects_applied_at INTEGER;
      UPDATE revocations SET effects_applied_at = revoked_at;
      CREATE INDEX revocations_effects_pending ON revocations (id) WHERE effects_applied_at IS NULL;

      CREATE TABLE webhook_outbox (
        id              INTEGER PRIMARY KEY,
        event_key       TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        body            TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        delivered_at    INTEGER,
        failed_at       INTEGER
      ) STRICT;
      CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
    `,
  },
  {
    version: 4,
    name: 'the TPM clock each challenge is issued against',
    sql: `
      -- The device's TPM clock as the store held it when the challenge was created: the
      -- clock check judges an answer against it, not against the device's latest clock,
      -- which a concurrent answer to a later challenge may already have moved on.
      ALTER TABLE challenges ADD COLUMN tpm_clock_at_issue TEXT;
      ALTER TABLE challenges ADD COLUMN tpm_reset_count_at_issue INTEGER;
      ALTER TABLE challenges ADD COLUMN tpm_restart_count_at_issue INTEGER;
      -- Challenges still open get the device's clock now (what their answers were judged
      -- against before), so none escapes the clock check across the upgrade.
      UPDATE challenges SET (tpm_clock_at_issue, tpm_reset_count_at_issue, tpm_restart_count_at_issue) =
        (SELECT tpm_clock, tpm_reset_count, tpm_restart_count FROM devices WHERE devices.id = challenges.device_id)
      WHERE used_at IS NULL;
    `,
  },
  {
    version: 5,
    name: 'sealed challenge uses',
    sql: `
      -- A sealed challenge carries its expiry, PCR selection and clock anchor in its MAC'd id
      -- and is never stored when issued; its single use is this row, inserted once per verdict.
      -- WITHOUT ROWID: the row lives in the primary-key B-tree itself, the one lookup a use makes
      -- (ids start with a time-ordered prefix, so inserts land at the right edge of it).
      CREATE TABLE challenge_uses (
        id         TEXT PRIMARY KEY,
        device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        used_at    INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- No index on expires_at: it would be a second B-tree written by every use (and about half
      -- as large again as the table) for pruning's sake alone, and pruning, run hourly (uses are
      -- kept a day past their expiry: EXPIRED_KEPT_MS), scans the table for expired uses instead (a sequential read: about 0.1 µs a row
      -- measured on SQLite, deleting costs more than finding). README, "challenge uses".
    `,
  },
  {
    version: 6,
    name: 'challenge uses keyed by expiry',
    sql: `
      -- The key is (expires_at, id), expiry first. A sealed id carries its own expiry under its
      -- MAC, so the pair names one challenge, as the id did; but the hourly prune now deletes a
      -- range at the start of the key (O(rows deleted), in slices) instead of scanning the whole
      -- table, a day of uses at fleet rates, on the server's event loop. Inserts land at the
      -- right edge: every new use expires later than the ones before it. README, "challenge uses".
      CREATE TABLE challenge_uses_by_expiry (
        expires_at INTEGER NOT NULL,
        id         TEXT NOT NULL,
        device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        used_at    INTEGER NOT NULL,
        PRIMARY KEY (expires_at, id)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO challenge_uses_by_expiry (expires_at, id, device_id, used_at)
        SELECT expires_at, id, device_id, used_at FROM challenge_uses;
      DROP TABLE challenge_uses;
      ALTER TABLE challenge_uses_by_expiry RENAME TO challenge_uses;
    `,
  },
  {
    version: 7,
    name: 'attestation history as a chain per device',
    sql: `
      -- The index of attestations by (device_id, id) put every verdict's insert on a leaf of its own
      -- (one per device), a second page written per verdict besides the table's growing end. A
      -- device's history is now a chain instead: each attestation names the device's previous one
      -- (prev_id) and the device row its newest (last_attestation_id), which the device-row update
      -- every verdict already makes sets. Reading a device's history walks the chain by rowid
      -- (README, "attestation history"). No device is ever deleted, so the foreign key needs no
      -- index to find its children.
      ALTER TABLE attestations ADD COLUMN prev_id INTEGER;
      ALTER TABLE devices ADD COLUMN last_attestation_id INTEGER;
      UPDATE attestations AS a SET prev_id =
        (SELECT max(b.id) FROM attestations AS b WHERE b.device_id = a.device_id AND b.id < a.id);
      UPDATE devices SET last_attestation_id = (SELECT max(id) FROM attestations WHERE device_id = devices.id);
      DROP INDEX attestations_by_device;
    `,
  },
];
