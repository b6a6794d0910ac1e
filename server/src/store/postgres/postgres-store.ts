import { createHash } from 'node:crypto';
import { canonicalJson } from '@vigil/protocol/core';
import type pg from 'pg';
import { AUDIT_GENESIS_HASH, AuditChainVerifier, auditEntryHash } from '../audit-chain.js';
import { flattenReasons } from '../attestation-reasons.js';
import type { AdminCredentialRecord, NewAdminCredential, RevokeAdminCredentialsInput } from '../entities/admin-credential.js';
import type { AttestationRecord, RecordAnswerResult, RecordAttestationInput, RecordAttestationResult } from '../entities/attestation.js';
import type { BatchedOutcome, BatchedWrite } from '../entities/batch.js';
import type { AuditEntry, AuditInput, AuditVerification } from '../entities/audit.js';
import type { StoredBootLog } from '../entities/boot-log.js';
import type { CertificateRecord, NewCertificate, RevokedCertificate } from '../entities/certificate.js';
import type { ChallengeConsumption, ChallengeConsumptionRequest, ChallengeRecord, ChallengeUse, NewChallenge } from '../entities/challenge.js';
import type { Actor, EpochMs } from '../entities/common.js';
import type { Device, DeviceFilter, DeviceStanding, SetDeviceStatusInput } from '../entities/device.js';
import type { DeviceLogState } from '../entities/device-log-state.js';
import type { EnrollDeviceInput, EnrollDeviceResult } from '../entities/enrollment.js';
import type { EnrollmentSession, NewEnrollmentSession, SessionConsumption } from '../entities/enrollment-session.js';
import type { EnrollmentTokenRecord, NewEnrollmentToken, TokenCheck } from '../entities/enrollment-token.js';
import type { AllowedModel, AllowModelInput, RevokeModelInput } from '../entities/model-allowlist.js';
import type {
  AssignPolicyInput,
  AssignPolicyResult,
  NewPolicyVersion,
  PolicyAssignment,
  PolicyRecord,
  ResolvedPolicy,
} from '../entities/policy.js';
import type {
  ReinstateDeviceInput,
  ReinstateDeviceResult,
  RevocationRecord,
  RevokeDeviceInput,
  RevokeDeviceResult,
} from '../entities/revocation.js';
import type { NewWebhookDelivery, WebhookAttempt, WebhookDelivery } from '../entities/webhook.js';
import { StoreError } from '../errors.js';
import { ATTESTATION_PRUNE_SLICE, pruneByWindows } from '../retention.js';
import {
  targetKey,
  toAdminCredential,
  toAssignment,
  toAttestation,
  toAuditEntry,
  toAuditRow,
  toBootLog,
  toCertificate,
  toChallenge,
  toDevice,
  toDeviceStanding,
  deviceStandingSql,
  toDeviceLogState,
  toModel,
  toPolicy,
  toRevocation,
  toRevokedCertificate,
  toSession,
  toToken,
  toWebhook,
  type AdminCredentialRow,
  type AssignmentRow,
  type AttestationRow,
  type AuditDbRow,
  type BootLogRow,
  type CertificateRow,
  type ChallengeClockRow,
  type ChallengeRow,
  type DeviceLogStateRow,
  type DeviceRow,
  type DeviceStandingRow,
  type ModelRow,
  type NewChallengeRow,
  type PolicyRow,
  type RevocationRow,
  type SessionRow,
  type TokenRow,
  type WebhookRow,
} from '../sqlite/rows.js';
import type { Store } from '../store.js';
import {
  checkAction,
  checkBootstrapId,
  checkDeviceId,
  checkHex,
  checkName,
  checkPositiveInt,
  checkRandomId,
  checkSerial,
  checkSha256Hex,
  checkText,
  checkTime,
} from '../validate.js';
import { DEVICE_LOCK_CLASS, LockId } from './locks.js';
import { attestationRow, BOOT_LOGS_KEPT, checkAdminRole, checkAnswer, deviceListArguments, judgeToken, logStateRow, statusAudit, stillUnverifiedSince } from '../rules.js';
import { all, asStoreError, bytes, lock, one, run, transaction, type Queryable } from './sql.js';

const DEVICE_STANDING_SQL = deviceStandingSql('$1');

/** SQLSTATE foreign_key_violation (PostgreSQL Appendix A, class 23). */
const FOREIGN_KEY_VIOLATION = '23503';

/** Audit chain pages read per statement by `verifyAuditChain` (memory stays bounded). */
const AUDIT_PAGE = 2000;

/**
 * SQL of the device update in `recordAttestation`: the clock given ($3
 * clock, $4 resetCount, $5 restartCount) is later than the stored one,
 * ordered by (resetCount, restartCount, clock) as in SQLite
 * (`sqlite-store.ts`, CLOCK_IS_NEWER: resetCount decides first, since
 * restartCount starts again at 0 on a TPM Reset, Part 2 §10.11.1); the
 * decimal text clock compared as numeric. Nothing stored: any clock is
 * later; none given: never.
 */
const CLOCK_IS_NEWER = `($3::text IS NOT NULL AND (tpm_clock IS NULL OR
  ($4::bigint, $5::bigint, $3::text::numeric) > (tpm_reset_count, tpm_restart_count, tpm_clock::numeric)))`;

/**
 * The Store on PostgreSQL (`pg`), for fleets whose verifier replicas share
 * one database. Same schema versions, row mapping and behaviour as the
 * SQLite store; the guarantees are made the PostgreSQL way:
 *
 * - Each method is one transaction (READ COMMITTED) on one pooled connection,
 *   or one autocommitted statement.
 * - Read-check-write runs under a row lock taken by the read
 *   (`SELECT ... FOR UPDATE` on the token, challenge, session or device), so
 *   of concurrent callers in any number of processes exactly one sees the
 *   unused state; the others wait and then see it used (a challenge is
 *   consumed by one conditional `UPDATE ... RETURNING`).
 * - Decisions that are not about one existing row take an advisory
 *   transaction lock (`locks.ts`): enrollment (EK and name uniqueness), a
 *   new policy version, a device's boot log rotation, and every audit
 *   append. The audit lock is always the last lock a transaction takes, so
 *   lock order is the same everywhere and transactions cannot deadlock.
 * - The audit chain is linear under concurrent writers: the next seq and
 *   prevHash are read after the audit lock is held, and the holder commits
 *   before the lock is released, so the next writer reads its row.
 * - Text is sorted with `COLLATE "C"` (byte order), as SQLite sorts.
 */
export class PostgresStore implements Store {
  #closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: () => number,
  ) {}

  private write<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, what, fn);
  }

  private async read<T>(what: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
    try {
      return await fn(this.pool);
    } catch (err) {
      throw asStoreError(what, err);
    }
  }

  private now(): EpochMs {
    return Math.trunc(this.clock());
  }

  // ── audit (used inside other transactions) ─────────────────────────────

  /** Appends under the audit lock; call it as the last step of a transaction (lock order). */
  private async appendAuditInTx(c: pg.PoolClient, input: AuditInput): Promise<AuditEntry> {
    const actor = checkText(input.actor, 'actor', 128);
    const action = checkAction(input.action);
    const subject = checkText(input.subject, 'audit subject', 256);
    const details = canonicalJson(input.details ?? {});
    await lock(c, LockId.audit);
    const last = await one<{ seq: number; hash: string }>(c, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const row: AuditDbRow = {
      seq: (last?.seq ?? 0) + 1,
      at: this.now(),
      actor,
      action,
      subject,
      details,
      prev_hash: last?.hash ?? AUDIT_GENESIS_HASH,
      hash: '',
    };
    row.hash = auditEntryHash(toAuditRow(row));
    await run(c, 'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      row.seq,
      row.at,
      row.actor,
      row.action,
      row.subject,
      row.details,
      row.prev_hash,
      row.hash,
    ]);
    return toAuditEntry(row);
  }

  // ── devices ────────────────────────────────────────────────────────────

  getDevice(id: string): Promise<Device | null> {
    return this.read('getDevice', async (db) => {
      const row = await one<DeviceRow>(db, 'SELECT * FROM devices WHERE id = $1', [id]);
      return row === undefined ? null : toDevice(row);
    });
  }

  getDeviceStanding(id: string): Promise<DeviceStanding | null> {
    return this.read('getDeviceStanding', async (db) => {
      const row = await one<DeviceStandingRow>(db, DEVICE_STANDING_SQL, [id]);
      return row === undefined ? null : toDeviceStanding(row);
    });
  }

  getDeviceByEkName(ekName: string): Promise<Device | null> {
    return this.read('getDeviceByEkName', async (db) => {
      const row = await one<DeviceRow>(db, 'SELECT * FROM devices WHERE ek_name = $1', [ekName]);
      return row === undefined ? null : toDevice(row);
    });
  }

  listDevices(filter: DeviceFilter = {}): Promise<Device[]> {
    return this.read('listDevices', async (db) => {
      const { silentSince, limit } = deviceListArguments(filter);
      // `silentSince` has no index on purpose: last_verified_at changes with every verdict. LIMIT NULL: no limit.
      const rows = await all<DeviceRow>(
        db,
        `SELECT * FROM devices
         WHERE ($1::text IS NULL OR status = $1) AND ($2::smallint IS NULL OR revoked = $2) AND ($3::text IS NULL OR device_group = $3)
           AND ($4::bigint IS NULL OR coalesce(last_verified_at, created_at) <= $4)
           AND ($5::text IS NULL OR id > $5 COLLATE "C")
         ORDER BY id COLLATE "C" LIMIT $6::integer`,
        [
          filter.status ?? null,
          filter.revoked === undefined ? null : filter.revoked ? 1 : 0,
          filter.group ?? null,
          silentSince,
          filter.afterId ?? null,
          limit,
        ],
      );
      return rows.map(toDevice);
    });
  }

  setDeviceGroup(deviceId: string, group: string | null, actor: Actor): Promise<boolean> {
    return this.write('setDeviceGroup', async (c) => {
      if (group !== null) checkName(group, 'group');
      const before = await one<DeviceRow>(c, 'SELECT * FROM devices WHERE id = $1 FOR UPDATE', [deviceId]);
      if (before === undefined) return false;
      await run(c, 'UPDATE devices SET device_group = $1, updated_at = $2 WHERE id = $3', [group, this.now(), deviceId]);
      await this.appendAuditInTx(c, { actor, action: 'device.group', subject: `device:${deviceId}`, details: { from: before.device_group, to: group } });
      return true;
    });
  }

  allowReenrollment(deviceId: string, actor: Actor): Promise<boolean> {
    return this.write('allowReenrollment', async (c) => {
      if ((await run(c, 'UPDATE devices SET reenroll_allowed = 1, updated_at = $1 WHERE id = $2', [this.now(), deviceId])) === 0) return false;
      await this.appendAuditInTx(c, { actor, action: 'device.allow-reenroll', subject: `device:${deviceId}` });
      return true;
    });
  }

  setDeviceStatus(input: SetDeviceStatusInput): Promise<boolean> {
    return this.write('setDeviceStatus', async (c) => {
      const device = await one<DeviceRow>(c, 'SELECT * FROM devices WHERE id = $1 FOR UPDATE', [input.deviceId]);
      if (device === undefined || !stillUnverifiedSince(device.last_verified_at, input.ifLastVerifiedAt)) return false;
      if (device.status === input.status) return true;
      await run(c, 'UPDATE devices SET status = $1, updated_at = $2 WHERE id = $3', [input.status, this.now(), input.deviceId]);
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'device.status',
        subject: `device:${input.deviceId}`,
        details: { from: device.status, to: input.status, reason: checkText(input.reason, 'status reason', 256) },
      });
      return true;
    });
  }

  getDeviceLogState(deviceId: string): Promise<DeviceLogState | null> {
    return this.read('getDeviceLogState', async (db) => {
      const row = await one<DeviceLogStateRow>(db, 'SELECT * FROM device_log_state WHERE device_id = $1', [deviceId]);
      return row === undefined ? null : toDeviceLogState(row);
    });
  }

  // ── enrollment ─────────────────────────────────────────────────────────

  enrollDevice(input: EnrollDeviceInput): Promise<EnrollDeviceResult> {
    return this.write('enrollDevice', async (c): Promise<EnrollDeviceResult> => {
      const now = this.now();
      const d = input.device;
      checkDeviceId(d.id);
      checkHex(d.ekName, 'EK name');
      checkHex(d.akName, 'AK name');
      if (d.group != null) checkName(d.group, 'group');
      checkSerial(input.certificate.serial);
      // Whether this EK or this name is taken is decided by one enrollment at a time.
      await lock(c, LockId.enroll);

      const tokenRow = await one<TokenRow>(c, 'SELECT * FROM enrollment_tokens WHERE hash = $1 FOR UPDATE', [input.tokenHash]);
      const tokenCheck = judgeToken(tokenRow, now);
      if (!tokenCheck.ok) return { ok: false, reason: `token-${tokenCheck.reason}` };
      const token = tokenRow!;
      if (token.device_name !== null && token.device_name !== d.id) {
        throw new StoreError('invalid-argument', `token fixes device name ${token.device_name}, not ${d.id}`);
      }

      const existing = await one<DeviceRow>(c, 'SELECT * FROM devices WHERE ek_name = $1 FOR UPDATE', [d.ekName]);
      let revokedSerials: string[] = [];
      if (existing !== undefined) {
        if (existing.reenroll_allowed !== 1 || existing.id !== d.id) return { ok: false, reason: 'already-enrolled' };
        revokedSerials = (
          await all<{ serial: string }>(c, 'SELECT serial FROM certificates WHERE device_id = $1 AND revoked_at IS NULL ORDER BY serial COLLATE "C"', [existing.id])
        ).map((r) => r.serial);
        await run(c, 'UPDATE certificates SET revoked_at = $1, revocation_reason = $2 WHERE device_id = $3 AND revoked_at IS NULL', [now, 'admin', existing.id]);
        await run(
          c,
          `UPDATE devices SET ek_public = $1, ek_certificate = $2, ak_public = $3, ak_name = $4, facts = $5, status = 'none', revoked = 0,
             reenroll_allowed = 0, last_verified_at = NULL, tpm_clock = NULL, tpm_reset_count = NULL, tpm_restart_count = NULL, updated_at = $6
           WHERE id = $7`,
          [bytes(d.ekPublic), d.ekCertificate == null ? null : bytes(d.ekCertificate), bytes(d.akPublic), d.akName, JSON.stringify(d.facts), now, d.id],
        );
      } else {
        if ((await one(c, 'SELECT 1 FROM devices WHERE id = $1', [d.id])) !== undefined) return { ok: false, reason: 'device-name-taken' };
        await run(
          c,
          `INSERT INTO devices (id, ek_public, ek_name, ek_certificate, ak_public, ak_name, facts, device_group, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
          [d.id, bytes(d.ekPublic), d.ekName, d.ekCertificate == null ? null : bytes(d.ekCertificate), bytes(d.akPublic), d.akName, JSON.stringify(d.facts), d.group ?? null, now],
        );
      }
      const cert = input.certificate;
      await run(c, 'INSERT INTO certificates (serial, device_id, not_before, not_after, pem, issued_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        cert.serial,
        d.id,
        checkTime(cert.notBefore, 'notBefore'),
        checkTime(cert.notAfter, 'notAfter'),
        cert.pem,
        now,
      ]);
      // The guard repeats the check made under the row lock; with the CHECK constraint an over-use is impossible.
      await run(c, 'UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = $1 AND uses < max_uses', [token.id]);
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: existing === undefined ? 'device.enroll' : 'device.reenroll',
        subject: `device:${d.id}`,
        details: {
          ekName: d.ekName,
          akName: d.akName,
          token: token.id,
          serial: cert.serial,
          ...(revokedSerials.length > 0 ? { revokedSerials } : {}),
        },
      });
      return {
        ok: true,
        device: toDevice((await one<DeviceRow>(c, 'SELECT * FROM devices WHERE id = $1', [d.id]))!),
        certificate: toCertificate((await one<CertificateRow>(c, 'SELECT * FROM certificates WHERE serial = $1', [cert.serial]))!),
        token: toToken((await one<TokenRow>(c, 'SELECT * FROM enrollment_tokens WHERE id = $1', [token.id]))!),
        reenrolled: existing !== undefined,
        revokedSerials,
      };
    });
  }

  createToken(input: NewEnrollmentToken): Promise<EnrollmentTokenRecord> {
    return this.write('createToken', async (c) => {
      checkSha256Hex(input.hash, 'token hash');
      if (input.label != null) checkText(input.label, 'token label', 128);
      if (input.deviceName != null) checkDeviceId(input.deviceName);
      const row = (await one<TokenRow>(
        c,
        `INSERT INTO enrollment_tokens (hash, label, max_uses, expires_at, device_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          input.hash,
          input.label ?? null,
          checkPositiveInt(input.maxUses, 'token max uses'),
          checkTime(input.expiresAt, 'token expiry'),
          input.deviceName ?? null,
          this.now(),
        ],
      ))!;
      const token = toToken(row);
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'token.create',
        subject: `token:${token.id}`,
        details: { label: token.label, maxUses: token.maxUses, expiresAt: token.expiresAt, deviceName: token.deviceName },
      });
      return token;
    });
  }

  checkToken(hash: string, now: EpochMs): Promise<TokenCheck> {
    return this.read('checkToken', async (db) => judgeToken(await one<TokenRow>(db, 'SELECT * FROM enrollment_tokens WHERE hash = $1', [hash]), now));
  }

  consumeToken(hash: string, now: EpochMs, actor: Actor = 'registrar'): Promise<TokenCheck> {
    return this.write('consumeToken', async (c): Promise<TokenCheck> => {
      const row = await one<TokenRow>(c, 'SELECT * FROM enrollment_tokens WHERE hash = $1 FOR UPDATE', [hash]);
      const check = judgeToken(row, now);
      if (!check.ok) return check;
      const used = (await one<TokenRow>(c, 'UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = $1 AND uses < max_uses RETURNING *', [row!.id]))!;
      await this.appendAuditInTx(c, { actor, action: 'token.use', subject: `token:${used.id}`, details: { uses: used.uses } });
      return { ok: true, token: toToken(used) };
    });
  }

  listTokens(): Promise<EnrollmentTokenRecord[]> {
    return this.read('listTokens', async (db) => (await all<TokenRow>(db, 'SELECT * FROM enrollment_tokens ORDER BY id')).map(toToken));
  }

  revokeToken(id: number, actor: Actor): Promise<boolean> {
    return this.write('revokeToken', async (c) => {
      if ((await run(c, 'UPDATE enrollment_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [this.now(), id])) === 0) return false;
      await this.appendAuditInTx(c, { actor, action: 'token.revoke', subject: `token:${id}` });
      return true;
    });
  }

  createEnrollmentSession(session: NewEnrollmentSession): Promise<EnrollmentSession> {
    return this.write('createEnrollmentSession', async (c) => {
      const row: SessionRow = {
        id: checkRandomId(session.id, 'enrollment session id'),
        bootstrap_id: checkBootstrapId(session.bootstrapId),
        secret: bytes(session.secret),
        context: JSON.stringify(session.context),
        created_at: this.now(),
        expires_at: checkTime(session.expiresAt, 'session expiry'),
        used_at: null,
      };
      await run(c, 'INSERT INTO enrollment_sessions (id, bootstrap_id, secret, context, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        row.id,
        row.bootstrap_id,
        row.secret,
        row.context,
        row.created_at,
        row.expires_at,
        row.used_at,
      ]);
      return toSession(row);
    });
  }

  consumeEnrollmentSession(id: string, bootstrapId: string, now: EpochMs): Promise<SessionConsumption> {
    return this.write('consumeEnrollmentSession', async (c): Promise<SessionConsumption> => {
      const row = await one<SessionRow>(c, 'SELECT * FROM enrollment_sessions WHERE id = $1 FOR UPDATE', [id]);
      if (row === undefined) return { ok: false, reason: 'unknown' };
      if (row.bootstrap_id !== bootstrapId) return { ok: false, reason: 'other-client' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      if (row.expires_at <= now) return { ok: false, reason: 'expired' };
      // The secret has done its job: keep no copy of it.
      await run(c, `UPDATE enrollment_sessions SET used_at = $1, secret = '\\x'::bytea WHERE id = $2 AND used_at IS NULL`, [now, id]);
      return { ok: true, session: { ...toSession(row), usedAt: now } };
    });
  }

  // ── certificates ───────────────────────────────────────────────────────

  addCertificate(cert: NewCertificate, actor: Actor): Promise<CertificateRecord> {
    return this.write('addCertificate', async (c) => {
      checkSerial(cert.serial);
      if ((await one(c, 'SELECT 1 FROM devices WHERE id = $1', [cert.deviceId])) === undefined) {
        throw new StoreError('invalid-argument', `no device ${cert.deviceId}`);
      }
      const row = (await one<CertificateRow>(
        c,
        'INSERT INTO certificates (serial, device_id, not_before, not_after, pem, issued_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [cert.serial, cert.deviceId, checkTime(cert.notBefore, 'notBefore'), checkTime(cert.notAfter, 'notAfter'), cert.pem, this.now()],
      ))!;
      await this.appendAuditInTx(c, {
        actor,
        action: 'certificate.issue',
        subject: `device:${cert.deviceId}`,
        details: { serial: cert.serial, notAfter: cert.notAfter },
      });
      return toCertificate(row);
    });
  }

  getCertificate(serial: string): Promise<CertificateRecord | null> {
    return this.read('getCertificate', async (db) => {
      const row = await one<CertificateRow>(db, 'SELECT * FROM certificates WHERE serial = $1', [serial]);
      return row === undefined ? null : toCertificate(row);
    });
  }

  listCertificates(deviceId: string): Promise<CertificateRecord[]> {
    return this.read('listCertificates', async (db) =>
      (await all<CertificateRow>(db, 'SELECT * FROM certificates WHERE device_id = $1 ORDER BY issued_at, serial COLLATE "C"', [deviceId])).map(toCertificate),
    );
  }

  listRevokedCertificates(): Promise<RevokedCertificate[]> {
    return this.read('listRevokedCertificates', async (db) =>
      (await all<CertificateRow>(db, 'SELECT * FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial COLLATE "C"')).map(toRevokedCertificate),
    );
  }

  // ── challenges ─────────────────────────────────────────────────────────

  /**
   * One autocommitted statement, once per verdict. Of concurrent first uses
   * (any replica) one inserts; the others wait on its uncommitted primary-key
   * entry, then find the conflict and insert nothing (rowCount 0); had the
   * first rolled back, the next would insert. The foreign key refuses an
   * unknown device (checked only when a row is inserted, as in SQLite).
   */
  useChallenge(use: ChallengeUse): Promise<boolean> {
    return this.read('useChallenge', (db) => this.useChallengeOn(db, use));
  }

  private async useChallengeOn(db: Queryable, use: ChallengeUse): Promise<boolean> {
    const id = checkRandomId(use.id, 'challenge id');
    const usedAt = checkTime(use.usedAt, 'challenge use time');
    const expiresAt = checkTime(use.expiresAt, 'challenge expiry');
    try {
      return (
        (await run(db, 'INSERT INTO challenge_uses (id, device_id, used_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (expires_at, id) DO NOTHING', [
          id,
          use.deviceId,
          usedAt,
          expiresAt,
        ])) === 1
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) {
        throw new StoreError('invalid-argument', `no device ${use.deviceId}`, { cause: err });
      }
      throw err;
    }
  }

  isChallengeUsed(id: string, expiresAt: EpochMs): Promise<boolean> {
    return this.read('isChallengeUsed', async (db) => (await one(db, 'SELECT 1 FROM challenge_uses WHERE expires_at = $1 AND id = $2', [expiresAt, id])) !== undefined);
  }

  createChallenge(ch: NewChallenge): Promise<ChallengeRecord> {
    return this.read('createChallenge', async (db) => {
      if (ch.nonce.length < 16 || ch.nonce.length > 64) throw new StoreError('invalid-argument', `challenge nonce of ${ch.nonce.length} bytes`);
      const row: NewChallengeRow = {
        id: checkRandomId(ch.id, 'challenge id'),
        device_id: ch.deviceId,
        nonce: bytes(ch.nonce),
        pcr_selection: JSON.stringify(ch.pcrSelection),
        offsets: JSON.stringify(ch.offsets),
        created_at: this.now(),
        expires_at: checkTime(ch.expiresAt, 'challenge expiry'),
      };
      // One statement on the hot path: inserted only if the device exists, together with the device's
      // TPM clock as committed now (the freshness anchor of the clock check, `ChallengeRecord.tpmClockAtIssue`).
      const anchor = await one<ChallengeClockRow>(
        db,
        `INSERT INTO challenges (id, device_id, nonce, pcr_selection, offsets, created_at, expires_at, used_at,
           tpm_clock_at_issue, tpm_reset_count_at_issue, tpm_restart_count_at_issue)
         SELECT $1::text, $2::text, $3::bytea, $4::text, $5::text, $6::bigint, $7::bigint, NULL, tpm_clock, tpm_reset_count, tpm_restart_count
         FROM devices WHERE id = $2::text
         RETURNING tpm_clock_at_issue, tpm_reset_count_at_issue, tpm_restart_count_at_issue`,
        [row.id, row.device_id, row.nonce, row.pcr_selection, row.offsets, row.created_at, row.expires_at],
      );
      if (anchor === undefined) throw new StoreError('invalid-argument', `no device ${ch.deviceId}`);
      return toChallenge({ ...row, used_at: null, ...anchor });
    });
  }

  getChallenge(id: string): Promise<ChallengeRecord | null> {
    return this.read('getChallenge', async (db) => {
      const row = await one<ChallengeRow>(db, 'SELECT * FROM challenges WHERE id = $1', [id]);
      return row === undefined ? null : toChallenge(row);
    });
  }

  consumeChallenge(id: string, deviceId: string, now: EpochMs): Promise<ChallengeConsumption> {
    return this.read('consumeChallenge', async (db): Promise<ChallengeConsumption> => {
      // One conditional UPDATE: of concurrent callers (any replica) exactly one
      // finds used_at NULL; the others block on its row lock, then re-check
      // the row as committed and match nothing (READ COMMITTED re-evaluation).
      const used = await one<ChallengeRow>(
        db,
        'UPDATE challenges SET used_at = $3 WHERE id = $1 AND device_id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING *',
        [id, deviceId, now],
      );
      if (used !== undefined) return { ok: true, challenge: toChallenge(used) };
      // Refused: say why, in the documented order. used_at only ever goes from NULL to set, so this read cannot
      // make a refused challenge look usable.
      const row = await one<ChallengeRow>(db, 'SELECT * FROM challenges WHERE id = $1', [id]);
      if (row === undefined) return { ok: false, reason: 'unknown' };
      if (row.device_id !== deviceId) return { ok: false, reason: 'other-device' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      return { ok: false, reason: 'expired' };
    });
  }

  // ── attestations ───────────────────────────────────────────────────────

  /**
   * One statement or transaction per write, run concurrently on the pool:
   * PostgreSQL already commits concurrent transactions together (its own
   * group commit), so one transaction for all would gain little here and
   * serialise them. Consumptions (and uses) naming the same challenge go one
   * after the other in the order given: the first is the one that uses it.
   */
  applyBatch(writes: readonly BatchedWrite[]): Promise<BatchedOutcome[]> {
    const last = new Map<string, Promise<unknown>>();
    const settle = <T>(p: Promise<T>): Promise<T | StoreError> => p.catch((err: unknown) => (err instanceof StoreError ? err : Promise.reject(err)));
    // Writes to one challenge (a consumption, or a sealed one's use) run after the one before them.
    const inOrder = <T>(key: string, write: () => Promise<T>): Promise<T | StoreError> => {
      const before = last.get(key);
      const mine = settle(before === undefined ? write() : before.then(write));
      last.set(key, mine.catch(() => undefined));
      return mine;
    };
    return Promise.all(
      writes.map((w): Promise<BatchedOutcome> => {
        switch (w.kind) {
          case 'create-challenge':
            return settle(this.createChallenge(w.challenge));
          case 'record-attestation':
            return settle(this.recordAttestation(w.input));
          case 'consume-challenge': {
            const { id, deviceId, now } = w.request;
            return inOrder(`consume:${id}`, () => this.consumeChallenge(id, deviceId, now));
          }
          case 'use-challenge':
            return inOrder(`use:${w.use.id}`, () => this.useChallenge(w.use));
          case 'record-answer':
            return inOrder(`use:${w.use.id}`, () => this.recordAnswer(w.use, w.input));
        }
      }),
    );
  }


  recordAttestation(input: RecordAttestationInput): Promise<RecordAttestationResult> {
    return this.write('recordAttestation', (c) => this.recordAttestationInTx(c, input));
  }

  /**
   * The use first, in the same transaction: of concurrent first answers (any
   * replica) one inserts and the others wait on its uncommitted key, then
   * find the conflict and write nothing (`useChallenge`). An attestation that
   * then fails rolls its use back with it.
   */
  recordAnswer(use: ChallengeUse, input: RecordAttestationInput): Promise<RecordAnswerResult> {
    return this.write('recordAnswer', async (c): Promise<RecordAnswerResult> => {
      checkAnswer(use, input);
      if (!(await this.useChallengeOn(c, use))) return 'used';
      return this.recordAttestationInTx(c, input);
    });
  }

  private async recordAttestationInTx(c: pg.PoolClient, input: RecordAttestationInput): Promise<RecordAttestationResult> {
    const a = input.attestation;
    checkSha256Hex(a.evidenceDigest, 'evidence digest');
    const logState = input.logState === undefined ? undefined : logStateRow(input.logState, this.now());
    // The row lock orders attestations of one device (previousStatus is the committed one).
    const device = await one<DeviceRow>(c, 'SELECT * FROM devices WHERE id = $1 FOR UPDATE', [a.deviceId]);
    if (device === undefined) throw new StoreError('invalid-argument', `no device ${a.deviceId}`);
    const reasons = flattenReasons(a);
    const row = attestationRow(a, reasons);
    const inserted = await one<{ id: number }>(
      c,
      `INSERT INTO attestations (device_id, challenge_id, received_at, evidence_digest, status, verdict, error_code, error_message,
         reasons, policy_name, policy_version, tpm_clock, tpm_reset_count, tpm_restart_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
      [
        row.device_id,
        row.challenge_id,
        row.received_at,
        row.evidence_digest,
        row.status,
        row.verdict,
        row.error_code,
        row.error_message,
        row.reasons,
        row.policy_name,
        row.policy_version,
        row.tpm_clock,
        row.tpm_reset_count,
        row.tpm_restart_count,
      ],
    );
    const id = inserted!.id;
    const previousStatus = device.status;
    const update = input.device;
    if (update !== undefined) {
      const clock = update.tpmClock;
      await run(
        c,
        `UPDATE devices SET status = $1,
           last_verified_at = coalesce($2, last_verified_at),
           tpm_clock = CASE WHEN ${CLOCK_IS_NEWER} THEN $3::text ELSE tpm_clock END,
           tpm_reset_count = CASE WHEN ${CLOCK_IS_NEWER} THEN $4::bigint ELSE tpm_reset_count END,
           tpm_restart_count = CASE WHEN ${CLOCK_IS_NEWER} THEN $5::bigint ELSE tpm_restart_count END,
           updated_at = $6
         WHERE id = $7`,
        [
          update.status,
          update.verified ? a.receivedAt : null,
          clock === undefined ? null : clock.clock.toString(),
          clock?.resetCount ?? null,
          clock?.restartCount ?? null,
          this.now(),
          a.deviceId,
        ],
      );
    }
    if (logState !== undefined) {
      await run(
        c,
        `INSERT INTO device_log_state (device_id, reset_count, boot_log_digest, ima_entries, ima_pcrs, model_entries, model_pcrs,
           model_measurements, verified_pcrs, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (device_id) DO UPDATE SET reset_count = excluded.reset_count, boot_log_digest = excluded.boot_log_digest,
           ima_entries = excluded.ima_entries, ima_pcrs = excluded.ima_pcrs, model_entries = excluded.model_entries,
           model_pcrs = excluded.model_pcrs, model_measurements = excluded.model_measurements,
           verified_pcrs = excluded.verified_pcrs, updated_at = excluded.updated_at`,
        [
          logState.device_id,
          logState.reset_count,
          logState.boot_log_digest,
          logState.ima_entries,
          logState.ima_pcrs,
          logState.model_entries,
          logState.model_pcrs,
          logState.model_measurements,
          logState.verified_pcrs,
          logState.updated_at,
        ],
      );
    }
    const audit = statusAudit(input, previousStatus, id, reasons);
    const auditSeq = audit === null ? null : (await this.appendAuditInTx(c, audit)).seq;
    return { attestation: toAttestation({ ...row, id }), previousStatus, auditSeq };
  }

  listAttestations(deviceId: string, limit = 50, beforeId?: number): Promise<AttestationRecord[]> {
    return this.read('listAttestations', async (db) => {
      const n = Math.max(1, Math.min(limit, 10_000));
      const rows =
        beforeId === undefined
          ? await all<AttestationRow>(db, 'SELECT * FROM attestations WHERE device_id = $1 ORDER BY id DESC LIMIT $2', [deviceId, n])
          : await all<AttestationRow>(db, 'SELECT * FROM attestations WHERE device_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [
              deviceId,
              checkPositiveInt(beforeId, 'attestation id'),
              n,
            ]);
      return rows.map(toAttestation);
    });
  }

  // ── revocation ─────────────────────────────────────────────────────────

  revokeDevice(input: RevokeDeviceInput): Promise<RevokeDeviceResult> {
    return this.write('revokeDevice', async (c): Promise<RevokeDeviceResult> => {
      // Concurrent revocations of one device (two replicas) queue on this lock: the second sees it revoked.
      const device = await one<DeviceRow>(c, 'SELECT * FROM devices WHERE id = $1 FOR UPDATE', [input.deviceId]);
      if (device === undefined) return { ok: false, reason: 'unknown-device' };
      if (device.revoked === 1) return { ok: false, reason: 'already-revoked' };
      if (!stillUnverifiedSince(device.last_verified_at, input.ifLastVerifiedAt)) return { ok: false, reason: 'verified-since' };
      const now = this.now();
      const message = input.message ?? null;
      if (message !== null) checkText(message, 'revocation message', 512);
      const serials = (
        await all<{ serial: string }>(
          c,
          'UPDATE certificates SET revoked_at = $1, revocation_reason = $2 WHERE device_id = $3 AND revoked_at IS NULL RETURNING serial',
          [now, input.reason, input.deviceId],
        )
      )
        .map((r) => r.serial)
        .sort();
      await run(c, 'UPDATE devices SET revoked = 1, reenroll_allowed = 0, updated_at = $1 WHERE id = $2', [now, input.deviceId]);
      const row: Omit<RevocationRow, 'id'> = {
        device_id: input.deviceId,
        reason: input.reason,
        message,
        serials: JSON.stringify(serials),
        actor: input.actor,
        revoked_at: now,
        reinstated_at: null,
        effects_applied_at: null,
      };
      const id = (await one<{ id: number }>(
        c,
        `INSERT INTO revocations (device_id, reason, message, serials, actor, revoked_at, reinstated_at, effects_applied_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL) RETURNING id`,
        [row.device_id, row.reason, row.message, row.serials, row.actor, row.revoked_at],
      ))!.id;
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'device.revoke',
        subject: `device:${input.deviceId}`,
        details: { reason: input.reason, message, serials, revocation: id },
      });
      return { ok: true, revocation: toRevocation({ ...row, id }) };
    });
  }

  reinstateDevice(input: ReinstateDeviceInput): Promise<ReinstateDeviceResult> {
    return this.write('reinstateDevice', async (c): Promise<ReinstateDeviceResult> => {
      const device = await one<DeviceRow>(c, 'SELECT * FROM devices WHERE id = $1 FOR UPDATE', [input.deviceId]);
      if (device === undefined) return { ok: false, reason: 'unknown-device' };
      if (device.revoked !== 1) return { ok: false, reason: 'not-revoked' };
      const now = this.now();
      const after = (await one<DeviceRow>(
        c,
        `UPDATE devices SET revoked = 0, status = 'none', reenroll_allowed = 1, last_verified_at = NULL, updated_at = $1 WHERE id = $2 RETURNING *`,
        [now, input.deviceId],
      ))!;
      await run(c, 'UPDATE revocations SET reinstated_at = $1 WHERE device_id = $2 AND reinstated_at IS NULL', [now, input.deviceId]);
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'device.reinstate',
        subject: `device:${input.deviceId}`,
        details: { message: input.message ?? null },
      });
      return { ok: true, device: toDevice(after) };
    });
  }

  listRevocations(deviceId?: string): Promise<RevocationRecord[]> {
    return this.read('listRevocations', async (db) =>
      (deviceId === undefined
        ? await all<RevocationRow>(db, 'SELECT * FROM revocations ORDER BY id')
        : await all<RevocationRow>(db, 'SELECT * FROM revocations WHERE device_id = $1 ORDER BY id', [deviceId])
      ).map(toRevocation),
    );
  }

  listRevocationsPendingEffects(): Promise<RevocationRecord[]> {
    return this.read('listRevocationsPendingEffects', async (db) =>
      (await all<RevocationRow>(db, 'SELECT * FROM revocations WHERE effects_applied_at IS NULL ORDER BY id')).map(toRevocation),
    );
  }

  markRevocationEffectsApplied(id: number, at: EpochMs): Promise<void> {
    return this.read('markRevocationEffectsApplied', async (db) => {
      await run(db, 'UPDATE revocations SET effects_applied_at = $1 WHERE id = $2 AND effects_applied_at IS NULL', [checkTime(at, 'effects applied time'), id]);
    });
  }

  // ── webhook outbox ─────────────────────────────────────────────────────

  enqueueWebhook(input: NewWebhookDelivery): Promise<{ delivery: WebhookDelivery; created: boolean }> {
    return this.write('enqueueWebhook', async (c) => {
      const now = this.now();
      const created =
        (await run(
          c,
          `INSERT INTO webhook_outbox (event_key, kind, body, created_at, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_key) DO NOTHING`,
          [checkText(input.eventKey, 'webhook event key', 256), checkText(input.kind, 'webhook kind', 64), input.body, now, checkTime(input.notBefore ?? now, 'webhook notBefore')],
        )) === 1;
      const row = (await one<WebhookRow>(c, 'SELECT * FROM webhook_outbox WHERE event_key = $1', [input.eventKey]))!;
      return { delivery: toWebhook(row), created };
    });
  }

  dueWebhooks(now: EpochMs, limit: number): Promise<WebhookDelivery[]> {
    return this.read('dueWebhooks', async (db) =>
      (
        await all<WebhookRow>(
          db,
          `SELECT * FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
           ORDER BY next_attempt_at, id LIMIT $2`,
          [now, Math.max(1, Math.min(limit, 10_000))],
        )
      ).map(toWebhook),
    );
  }

  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void> {
    return this.write('recordWebhookAttempt', async (c) => {
      const at = checkTime(attempt.at, 'attempt time');
      const open = 'id = $3 AND delivered_at IS NULL AND failed_at IS NULL';
      if (attempt.outcome === 'delivered') {
        await run(c, `UPDATE webhook_outbox SET delivered_at = $1, attempts = attempts + 1, last_error = $2 WHERE ${open}`, [at, null, attempt.id]);
        return;
      }
      const error = attempt.error.length > 1024 ? `${attempt.error.slice(0, 1023)}…` : attempt.error;
      if (attempt.outcome === 'retry') {
        await run(c, `UPDATE webhook_outbox SET next_attempt_at = $1, last_error = $2, attempts = attempts + 1 WHERE ${open}`, [
          checkTime(attempt.nextAttemptAt, 'next attempt time'),
          error,
          attempt.id,
        ]);
        return;
      }
      const failed = await one<WebhookRow>(c, `UPDATE webhook_outbox SET failed_at = $1, last_error = $2, attempts = attempts + 1 WHERE ${open} RETURNING *`, [
        at,
        error,
        attempt.id,
      ]);
      if (failed !== undefined) {
        await this.appendAuditInTx(c, {
          actor: 'webhook',
          action: 'webhook.failed',
          subject: `webhook:${failed.id}`,
          details: { eventKey: failed.event_key, attempts: failed.attempts, error },
        });
      }
    });
  }

  nextWebhookDue(): Promise<EpochMs | null> {
    return this.read('nextWebhookDue', async (db) => {
      const row = await one<{ t: number | null }>(db, 'SELECT min(next_attempt_at) AS t FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL');
      return row?.t ?? null;
    });
  }

  listWebhooks(options: { limit?: number } = {}): Promise<WebhookDelivery[]> {
    return this.read('listWebhooks', async (db) =>
      (await all<WebhookRow>(db, 'SELECT * FROM webhook_outbox ORDER BY id DESC LIMIT $1', [Math.max(1, Math.min(options.limit ?? 100, 10_000))])).map(toWebhook),
    );
  }

  // ── policies ───────────────────────────────────────────────────────────

  createPolicyVersion(input: NewPolicyVersion): Promise<PolicyRecord> {
    return this.write('createPolicyVersion', async (c) => {
      checkName(input.name, 'policy name');
      const document = canonicalJson(input.document);
      await lock(c, LockId.policy);
      const latest = await one<{ v: number | null }>(c, 'SELECT max(version) AS v FROM policies WHERE name = $1', [input.name]);
      const row: PolicyRow = {
        name: input.name,
        version: (latest?.v ?? 0) + 1,
        document,
        digest: createHash('sha256').update(document, 'utf8').digest('hex'),
        created_at: this.now(),
        created_by: input.actor,
      };
      await run(c, 'INSERT INTO policies (name, version, document, digest, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)', [
        row.name,
        row.version,
        row.document,
        row.digest,
        row.created_at,
        row.created_by,
      ]);
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'policy.create',
        subject: `policy:${row.name}@${row.version}`,
        details: { digest: row.digest },
      });
      return toPolicy(row);
    });
  }

  getPolicy(name: string, version?: number): Promise<PolicyRecord | null> {
    return this.read('getPolicy', async (db) => {
      const row = await policyRow(db, name, version ?? null);
      return row === undefined ? null : toPolicy(row);
    });
  }

  listPolicies(): Promise<PolicyRecord[]> {
    return this.read('listPolicies', async (db) =>
      (
        await all<PolicyRow>(
          db,
          `SELECT p.* FROM policies p JOIN (SELECT name, max(version) AS v FROM policies GROUP BY name) m
             ON p.name = m.name AND p.version = m.v ORDER BY p.name COLLATE "C"`,
        )
      ).map(toPolicy),
    );
  }

  assignPolicy(input: AssignPolicyInput): Promise<AssignPolicyResult> {
    return this.write('assignPolicy', async (c): Promise<AssignPolicyResult> => {
      const version = input.policyVersion ?? null;
      if ((await policyRow(c, input.policyName, null)) === undefined) return { ok: false, reason: 'unknown-policy' };
      if (version !== null && (await policyRow(c, input.policyName, version)) === undefined) return { ok: false, reason: 'unknown-version' };
      if (input.target.kind === 'device' && (await one(c, 'SELECT 1 FROM devices WHERE id = $1', [input.target.deviceId])) === undefined) {
        return { ok: false, reason: 'unknown-device' };
      }
      if (input.target.kind === 'group') checkName(input.target.group, 'group');
      const key = targetKey(input.target);
      const row: AssignmentRow = { ...key, policy_name: input.policyName, policy_version: version, assigned_at: this.now(), assigned_by: input.actor };
      await run(
        c,
        `INSERT INTO policy_assignments (scope, target, policy_name, policy_version, assigned_at, assigned_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scope, target) DO UPDATE SET policy_name = excluded.policy_name, policy_version = excluded.policy_version,
           assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by`,
        [row.scope, row.target, row.policy_name, row.policy_version, row.assigned_at, row.assigned_by],
      );
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'policy.assign',
        subject: `policy:${input.policyName}`,
        details: { scope: key.scope, target: key.target, version },
      });
      return { ok: true, assignment: toAssignment(row) };
    });
  }

  listPolicyAssignments(): Promise<PolicyAssignment[]> {
    return this.read('listPolicyAssignments', async (db) =>
      (await all<AssignmentRow>(db, 'SELECT * FROM policy_assignments ORDER BY scope COLLATE "C", target COLLATE "C"')).map(toAssignment),
    );
  }

  resolvePolicy(deviceId: string): Promise<ResolvedPolicy | null> {
    return this.read('resolvePolicy', async (db) => {
      const device = await one<DeviceRow>(db, 'SELECT * FROM devices WHERE id = $1', [deviceId]);
      if (device === undefined) return null;
      const candidates: Array<{ scope: AssignmentRow['scope']; target: string }> = [{ scope: 'device', target: deviceId }];
      if (device.device_group !== null) candidates.push({ scope: 'group', target: device.device_group });
      candidates.push({ scope: 'all', target: '' });
      for (const cand of candidates) {
        const a = await one<AssignmentRow>(db, 'SELECT * FROM policy_assignments WHERE scope = $1 AND target = $2', [cand.scope, cand.target]);
        if (a === undefined) continue;
        const p = await policyRow(db, a.policy_name, a.policy_version);
        if (p !== undefined) return { policy: toPolicy(p), assignment: toAssignment(a) };
      }
      return null;
    });
  }

  // ── model allowlist ────────────────────────────────────────────────────

  allowModel(input: AllowModelInput): Promise<AllowedModel> {
    return this.write('allowModel', async (c) => {
      const row: ModelRow = {
        name: checkText(input.name, 'model name', 1024),
        digest: checkSha256Hex(input.digest, 'model digest'),
        note: input.note == null ? null : checkText(input.note, 'model note', 512),
        added_at: this.now(),
        added_by: input.actor,
        revoked_at: null,
      };
      await run(
        c,
        `INSERT INTO model_allowlist (name, digest, note, added_at, added_by, revoked_at)
         VALUES ($1, $2, $3, $4, $5, NULL)
         ON CONFLICT (name, digest) DO UPDATE SET note = excluded.note, added_at = excluded.added_at,
           added_by = excluded.added_by, revoked_at = NULL`,
        [row.name, row.digest, row.note, row.added_at, row.added_by],
      );
      await this.appendAuditInTx(c, { actor: input.actor, action: 'model.allow', subject: `model:${row.name}`, details: { digest: row.digest } });
      return toModel(row);
    });
  }

  revokeModel(input: RevokeModelInput): Promise<number> {
    return this.write('revokeModel', async (c) => {
      const now = this.now();
      const changes =
        input.digest === undefined
          ? await run(c, 'UPDATE model_allowlist SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL', [now, input.name])
          : await run(c, 'UPDATE model_allowlist SET revoked_at = $1 WHERE name = $2 AND digest = $3 AND revoked_at IS NULL', [now, input.name, input.digest]);
      if (changes > 0) {
        await this.appendAuditInTx(c, {
          actor: input.actor,
          action: 'model.revoke',
          subject: `model:${input.name}`,
          details: { digest: input.digest ?? null, revoked: changes },
        });
      }
      return changes;
    });
  }

  listModels(options: { includeRevoked?: boolean } = {}): Promise<AllowedModel[]> {
    return this.read('listModels', async (db) =>
      (
        await all<ModelRow>(
          db,
          options.includeRevoked === true
            ? 'SELECT * FROM model_allowlist ORDER BY name COLLATE "C", digest COLLATE "C"'
            : 'SELECT * FROM model_allowlist WHERE revoked_at IS NULL ORDER BY name COLLATE "C", digest COLLATE "C"',
        )
      ).map(toModel),
    );
  }

  // ── boot event logs ────────────────────────────────────────────────────

  putBootLog(deviceId: string, digest: string, data: Uint8Array): Promise<void> {
    return this.write('putBootLog', async (c) => {
      checkSha256Hex(digest, 'boot log digest');
      // One rotation per device at a time (two replicas may store logs of one device).
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DEVICE_LOCK_CLASS, deviceId]);
      // Delete then insert, so the rewritten log gets the newest stored_seq (the order kept).
      await run(c, 'DELETE FROM boot_logs WHERE device_id = $1 AND digest = $2', [deviceId, digest]);
      await run(c, 'INSERT INTO boot_logs (device_id, digest, data, stored_at) VALUES ($1, $2, $3, $4)', [deviceId, digest, bytes(data), this.now()]);
      await run(
        c,
        `DELETE FROM boot_logs WHERE device_id = $1 AND stored_seq NOT IN
           (SELECT stored_seq FROM boot_logs WHERE device_id = $1 ORDER BY stored_seq DESC LIMIT $2)`,
        [deviceId, BOOT_LOGS_KEPT],
      );
    });
  }

  getBootLog(deviceId: string, digest: string): Promise<StoredBootLog | null> {
    return this.read('getBootLog', async (db) => {
      const row = await one<BootLogRow>(db, 'SELECT * FROM boot_logs WHERE device_id = $1 AND digest = $2', [deviceId, digest]);
      return row === undefined ? null : toBootLog(row);
    });
  }

  latestBootLog(deviceId: string): Promise<StoredBootLog | null> {
    return this.read('latestBootLog', async (db) => {
      const row = await one<BootLogRow>(db, 'SELECT * FROM boot_logs WHERE device_id = $1 ORDER BY stored_seq DESC LIMIT 1', [deviceId]);
      return row === undefined ? null : toBootLog(row);
    });
  }

  // ── admin credentials ──────────────────────────────────────────────────

  addAdminCredential(input: NewAdminCredential): Promise<AdminCredentialRecord> {
    return this.write('addAdminCredential', async (c) => {
      const row: AdminCredentialRow = {
        serial: checkSerial(input.serial),
        name: checkName(input.name, 'admin name'),
        role: checkAdminRole(input.role),
        not_before: checkTime(input.notBefore, 'notBefore'),
        not_after: checkTime(input.notAfter, 'notAfter'),
        issued_at: this.now(),
        issued_by: checkText(input.actor, 'actor', 128),
        revoked_at: null,
        revoked_by: null,
      };
      await run(
        c,
        `INSERT INTO admin_credentials (serial, name, role, not_before, not_after, issued_at, issued_by, revoked_at, revoked_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)`,
        [row.serial, row.name, row.role, row.not_before, row.not_after, row.issued_at, row.issued_by],
      );
      await this.appendAuditInTx(c, {
        actor: input.actor,
        action: 'admin.issue',
        subject: `admin:${row.name}`,
        details: { serial: row.serial, role: row.role, notAfter: row.not_after },
      });
      return toAdminCredential(row);
    });
  }

  getAdminCredential(serial: string): Promise<AdminCredentialRecord | null> {
    return this.read('getAdminCredential', async (db) => {
      const row = await one<AdminCredentialRow>(db, 'SELECT * FROM admin_credentials WHERE serial = $1', [serial]);
      return row === undefined ? null : toAdminCredential(row);
    });
  }

  listAdminCredentials(): Promise<AdminCredentialRecord[]> {
    return this.read('listAdminCredentials', async (db) =>
      (await all<AdminCredentialRow>(db, 'SELECT * FROM admin_credentials ORDER BY issued_at, serial COLLATE "C"')).map(toAdminCredential),
    );
  }

  revokeAdminCredentials(input: RevokeAdminCredentialsInput): Promise<AdminCredentialRecord[]> {
    return this.write('revokeAdminCredentials', async (c) => {
      const name = checkName(input.name, 'admin name');
      if (input.serial !== undefined) checkSerial(input.serial);
      const now = this.now();
      const active = await all<AdminCredentialRow>(
        c,
        'SELECT * FROM admin_credentials WHERE name = $1 AND revoked_at IS NULL ORDER BY issued_at, serial COLLATE "C" FOR UPDATE',
        [name],
      );
      const targets = active.filter((r) => input.serial === undefined || r.serial === input.serial);
      if (targets.length > 0) {
        await run(c, 'UPDATE admin_credentials SET revoked_at = $1, revoked_by = $2 WHERE serial = ANY($3::text[]) AND revoked_at IS NULL', [
          now,
          input.actor,
          targets.map((r) => r.serial),
        ]);
        await this.appendAuditInTx(c, { actor: input.actor, action: 'admin.revoke', subject: `admin:${name}`, details: { serials: targets.map((r) => r.serial) } });
      }
      return targets.map((r) => toAdminCredential({ ...r, revoked_at: now, revoked_by: input.actor }));
    });
  }

  // ── audit ──────────────────────────────────────────────────────────────

  appendAudit(input: AuditInput): Promise<AuditEntry> {
    return this.write('appendAudit', (c) => this.appendAuditInTx(c, input));
  }

  listAudit(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    return this.read('listAudit', async (db) =>
      (
        await all<AuditDbRow>(db, 'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [
          options.afterSeq ?? 0,
          Math.max(1, Math.min(options.limit ?? 1000, 100_000)),
        ])
      ).map(toAuditEntry),
    );
  }

  verifyAuditChain(): Promise<AuditVerification> {
    // Pages of the chain read in one REPEATABLE READ snapshot: consistent like SQLite's single statement, bounded memory.
    return transaction(
      this.pool,
      'verifyAuditChain',
      async (c) => {
        const verifier = new AuditChainVerifier();
        let after = 0;
        for (;;) {
          const rows = await all<AuditDbRow>(c, 'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, AUDIT_PAGE]);
          for (const row of rows) {
            if (!verifier.add(toAuditRow(row))) return verifier.result();
          }
          if (rows.length < AUDIT_PAGE) return verifier.result();
          after = rows[rows.length - 1]!.seq;
        }
      },
      'repeatable read',
    );
  }

  // ── housekeeping ───────────────────────────────────────────────────────

  pruneExpired(before: EpochMs): Promise<{ challenges: number; sessions: number }> {
    return this.write('pruneExpired', async (c) => ({
      challenges:
        (await run(c, 'DELETE FROM challenges WHERE expires_at < $1', [before])) + (await run(c, 'DELETE FROM challenge_uses WHERE expires_at < $1', [before])),
      sessions: await run(c, 'DELETE FROM enrollment_sessions WHERE expires_at < $1', [before]),
    }));
  }

  /** As on SQLite, in windows of attestation ids, each its own transaction (so replicas' verdicts are not held up behind one long delete). */
  async pruneAttestations(before: EpochMs): Promise<number> {
    const cut = checkTime(before, 'attestation cut');
    return pruneByWindows((after) =>
      this.write('pruneAttestations', async (c) => {
        const window = await all<{ id: number; received_at: number }>(c, 'SELECT id, received_at FROM attestations WHERE id > $1 ORDER BY id LIMIT $2', [after, ATTESTATION_PRUNE_SLICE]);
        const last = window[window.length - 1];
        if (last === undefined) return null;
        const old = window.some((r) => r.received_at < cut);
        const deleted = old
          ? await run(
              c,
              `DELETE FROM attestations AS a WHERE a.id > $1 AND a.id <= $2 AND a.received_at < $3
                 AND EXISTS (SELECT 1 FROM attestations AS b WHERE b.device_id = a.device_id AND b.id > a.id)`,
              [after, last.id, cut],
            )
          : 0;
        return { last: last.id, full: window.length === ATTESTATION_PRUNE_SLICE, old, deleted };
      }),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.pool.end();
    } catch (err) {
      throw asStoreError('close', err);
    }
  }
}

/** The given version of a policy, or its latest when `version` is null. */
function policyRow(db: Queryable, name: string, version: number | null): Promise<PolicyRow | undefined> {
  return version === null
    ? one<PolicyRow>(db, 'SELECT * FROM policies WHERE name = $1 ORDER BY version DESC LIMIT 1', [name])
    : one<PolicyRow>(db, 'SELECT * FROM policies WHERE name = $1 AND version = $2', [name, version]);
}
