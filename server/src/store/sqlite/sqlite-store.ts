import { createHash } from 'node:crypto';
import { canonicalJson } from '@vigil/protocol/core';
import type { Database, Statement } from 'better-sqlite3';
import { AUDIT_GENESIS_HASH, AuditChainVerifier, auditEntryHash } from '../audit-chain.js';
import { flattenReasons } from '../attestation-reasons.js';
import type { AdminCredentialRecord, NewAdminCredential, RevokeAdminCredentialsInput } from '../entities/admin-credential.js';
import type { RecordAnswerResult, RecordAttestationInput, RecordAttestationResult, AttestationRecord } from '../entities/attestation.js';
import type { BatchedOutcome, BatchedWrite } from '../entities/batch.js';
import type { AuditEntry, AuditInput, AuditVerification } from '../entities/audit.js';
import type { StoredBootLog } from '../entities/boot-log.js';
import type { CertificateRecord, NewCertificate, RevokedCertificate } from '../entities/certificate.js';
import type { ChallengeConsumption, ChallengeConsumptionRequest, ChallengeRecord, ChallengeUse, NewChallenge } from '../entities/challenge.js';
import type { Actor, EpochMs, JsonObject } from '../entities/common.js';
import type { Device, DeviceFilter, DeviceStanding, SetDeviceStatusInput } from '../entities/device.js';
import type { DeviceLogState } from '../entities/device-log-state.js';
import type { NewWebhookDelivery, WebhookAttempt, WebhookDelivery } from '../entities/webhook.js';
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
import { StoreError } from '../errors.js';
import { ATTESTATION_PRUNE_SLICE, PRUNE_SLICE, pruneByWindows } from '../retention.js';
import type { BackgroundCheckpointer } from './checkpointer.js';
import { StandingCache } from './standing-cache.js';
import type { Store } from '../store.js';
import { attestationRow, BOOT_LOGS_KEPT, checkAdminRole, checkAnswer, deviceListArguments, judgeToken, logStateRow, statusAudit, stillUnverifiedSince } from '../rules.js';
import {
  checkAction,
  checkBootstrapId,
  checkDeviceId,
  checkRandomId,
  checkHex,
  checkName,
  checkPositiveInt,
  checkSerial,
  checkSha256Hex,
  checkText,
  checkTime,
} from '../validate.js';
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
  toDeviceLogState,
  toWebhook,
  toDevice,
  toDeviceStanding,
  deviceStandingSql,
  toModel,
  toPolicy,
  toRevocation,
  toRevokedCertificate,
  toSession,
  toToken,
  type AdminCredentialRow,
  type AssignmentRow,
  type AttestationInsertRow,
  type AttestationRow,
  type AuditDbRow,
  type BootLogRow,
  type CertificateRow,
  type ChallengeClockRow,
  type ChallengeRow,
  type DeviceLogStateRow,
  type WebhookRow,
  type DeviceRow,
  type DeviceStandingRow,
  type ModelRow,
  type NewChallengeRow,
  type PolicyRow,
  type RevocationRow,
  type SessionRow,
  type TokenRow,
} from './rows.js';

/** Thrown inside a batch's first transaction to roll it back and apply the batch write by write (`applyBatch`). */
class RetryWriteByWrite extends Error {}

/**
 * The Store on SQLite (better-sqlite3). Every write runs in a `BEGIN
 * IMMEDIATE` transaction: the write lock is taken before anything is read,
 * so read-check-write sequences (token uses, challenges, the audit chain's
 * last hash) cannot interleave with another connection's, in this process
 * or another, and a waiting writer honours busy_timeout instead of failing
 * on a lock upgrade.
 */
export class SqliteStore implements Store {
  private readonly s: ReturnType<typeof prepare>;
  private readonly txn: (fn: () => unknown) => unknown;
  /** Runs `fn` in a savepoint of the current transaction (better-sqlite3 nests transactions as savepoints). */
  private readonly nested: (fn: () => unknown) => unknown;
  /** Standings read and not changed since; see `StandingCache` for when one is dropped. */
  private readonly standings: StandingCache;

  constructor(
    private readonly db: Database,
    private readonly clock: () => number,
    private readonly checkpointer?: BackgroundCheckpointer,
  ) {
    this.s = prepare(db);
    const t = db.transaction((fn: () => unknown) => fn());
    this.txn = (fn) => t.immediate(fn);
    this.nested = (fn) => t(fn);
    const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.standings = new StandingCache(() => dataVersion.get()!);
  }

  /**
   * One IMMEDIATE transaction; database errors become StoreError. Any write
   * may change a device's standing, so the held standings are dropped after
   * it, committed or not (`StandingCache.wrote`: also every other store's in
   * this process): the few writes that say which devices they change
   * (`forgets: 'own'`) forget just those here.
   */
  private write<T>(what: string, fn: () => T, forgets: 'all' | 'own' = 'all'): Promise<T> {
    return this.read(what, () => this.transaction(fn, forgets));
  }

  /** `write`'s transaction, run here and now (errors thrown as they are). */
  private transaction<T>(fn: () => T, forgets: 'all' | 'own'): T {
    try {
      return this.txn(fn) as T;
    } finally {
      this.standings.wrote(forgets === 'all');
    }
  }

  private read<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(asStoreError(what, err));
    }
  }

  private now(): EpochMs {
    return Math.trunc(this.clock());
  }

  // ── audit (used inside other transactions) ─────────────────────────────

  private appendAuditInTx(input: AuditInput): AuditEntry {
    const actor = checkText(input.actor, 'actor', 128);
    const action = checkAction(input.action);
    const subject = checkText(input.subject, 'audit subject', 256);
    const details = canonicalJson(input.details ?? {});
    const last = this.s.lastAudit.get();
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
    this.s.insertAudit.run(row);
    return toAuditEntry(row);
  }

  // ── devices ────────────────────────────────────────────────────────────

  getDevice(id: string): Promise<Device | null> {
    return this.read('getDevice', () => {
      const row = this.s.deviceById.get(id);
      return row === undefined ? null : toDevice(row);
    });
  }

  getDeviceStanding(id: string): Promise<DeviceStanding | null> {
    return this.read('getDeviceStanding', () => {
      const held = this.standings.get(id);
      if (held !== undefined) return held;
      const row = this.s.deviceStanding.get(id);
      if (row === undefined) return null;
      const standing = toDeviceStanding(row);
      this.standings.set(id, standing);
      return standing;
    });
  }

  getDeviceByEkName(ekName: string): Promise<Device | null> {
    return this.read('getDeviceByEkName', () => {
      const row = this.s.deviceByEkName.get(ekName);
      return row === undefined ? null : toDevice(row);
    });
  }

  listDevices(filter: DeviceFilter = {}): Promise<Device[]> {
    return this.read('listDevices', () => {
      const { silentSince, limit } = deviceListArguments(filter);
      return this.s.listDevices
        .all({
          status: filter.status ?? null,
          revoked: filter.revoked === undefined ? null : filter.revoked ? 1 : 0,
          grp: filter.group ?? null,
          silent_since: silentSince,
          after_id: filter.afterId ?? null,
          limit: limit ?? -1, // LIMIT -1: no limit
        })
        .map(toDevice);
    });
  }

  setDeviceGroup(deviceId: string, group: string | null, actor: Actor): Promise<boolean> {
    return this.write('setDeviceGroup', () => {
      if (group !== null) checkName(group, 'group');
      const before = this.s.deviceById.get(deviceId);
      if (before === undefined) return false;
      this.s.setDeviceGroup.run(group, this.now(), deviceId);
      this.appendAuditInTx({ actor, action: 'device.group', subject: `device:${deviceId}`, details: { from: before.device_group, to: group } });
      return true;
    });
  }

  allowReenrollment(deviceId: string, actor: Actor): Promise<boolean> {
    return this.write('allowReenrollment', () => {
      if (this.s.setReenrollAllowed.run(this.now(), deviceId).changes === 0) return false;
      this.appendAuditInTx({ actor, action: 'device.allow-reenroll', subject: `device:${deviceId}` });
      return true;
    });
  }

  setDeviceStatus(input: SetDeviceStatusInput): Promise<boolean> {
    return this.write('setDeviceStatus', () => {
      const device = this.s.deviceById.get(input.deviceId);
      if (device === undefined || !stillUnverifiedSince(device.last_verified_at, input.ifLastVerifiedAt)) return false;
      if (device.status === input.status) return true;
      this.s.setDeviceStatus.run(input.status, this.now(), input.deviceId);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'device.status',
        subject: `device:${input.deviceId}`,
        details: { from: device.status, to: input.status, reason: checkText(input.reason, 'status reason', 256) },
      });
      return true;
    });
  }

  getDeviceLogState(deviceId: string): Promise<DeviceLogState | null> {
    return this.read('getDeviceLogState', () => {
      const row = this.s.deviceLogState.get(deviceId);
      return row === undefined ? null : toDeviceLogState(row);
    });
  }

  // ── enrollment ─────────────────────────────────────────────────────────

  enrollDevice(input: EnrollDeviceInput): Promise<EnrollDeviceResult> {
    return this.write('enrollDevice', (): EnrollDeviceResult => {
      const now = this.now();
      const d = input.device;
      checkDeviceId(d.id);
      checkHex(d.ekName, 'EK name');
      checkHex(d.akName, 'AK name');
      if (d.group != null) checkName(d.group, 'group');
      checkSerial(input.certificate.serial);

      const tokenRow = this.s.tokenByHash.get(input.tokenHash);
      const tokenCheck = judgeToken(tokenRow, now);
      if (!tokenCheck.ok) return { ok: false, reason: `token-${tokenCheck.reason}` };
      if (tokenRow!.device_name !== null && tokenRow!.device_name !== d.id) {
        throw new StoreError('invalid-argument', `token fixes device name ${tokenRow!.device_name}, not ${d.id}`);
      }

      const existing = this.s.deviceByEkName.get(d.ekName);
      let revokedSerials: string[] = [];
      if (existing !== undefined) {
        if (existing.reenroll_allowed !== 1 || existing.id !== d.id) return { ok: false, reason: 'already-enrolled' };
        revokedSerials = this.s.validSerials.all(existing.id).map((r) => r.serial);
        this.s.revokeDeviceCertificates.run(now, 'admin', existing.id);
        this.s.reenrollDevice.run({
          id: d.id,
          ek_public: d.ekPublic,
          ek_certificate: d.ekCertificate ?? null,
          ak_public: d.akPublic,
          ak_name: d.akName,
          facts: JSON.stringify(d.facts),
          updated_at: now,
        });
      } else {
        if (this.s.deviceById.get(d.id) !== undefined) return { ok: false, reason: 'device-name-taken' };
        this.s.insertDevice.run({
          id: d.id,
          ek_public: d.ekPublic,
          ek_name: d.ekName,
          ek_certificate: d.ekCertificate ?? null,
          ak_public: d.akPublic,
          ak_name: d.akName,
          facts: JSON.stringify(d.facts),
          device_group: d.group ?? null,
          created_at: now,
        });
      }
      const cert = input.certificate;
      this.s.insertCertificate.run({
        serial: cert.serial,
        device_id: d.id,
        not_before: checkTime(cert.notBefore, 'notBefore'),
        not_after: checkTime(cert.notAfter, 'notAfter'),
        pem: cert.pem,
        issued_at: now,
      });
      this.s.useToken.run(tokenRow!.id);
      this.appendAuditInTx({
        actor: input.actor,
        action: existing === undefined ? 'device.enroll' : 'device.reenroll',
        subject: `device:${d.id}`,
        details: {
          ekName: d.ekName,
          akName: d.akName,
          token: tokenRow!.id,
          serial: cert.serial,
          ...(revokedSerials.length > 0 ? { revokedSerials } : {}),
        },
      });
      return {
        ok: true,
        device: toDevice(this.s.deviceById.get(d.id)!),
        certificate: toCertificate(this.s.certificateBySerial.get(cert.serial)!),
        token: toToken(this.s.tokenById.get(tokenRow!.id)!),
        reenrolled: existing !== undefined,
        revokedSerials,
      };
    });
  }

  createToken(input: NewEnrollmentToken): Promise<EnrollmentTokenRecord> {
    return this.write('createToken', () => {
      checkSha256Hex(input.hash, 'token hash');
      if (input.label != null) checkText(input.label, 'token label', 128);
      if (input.deviceName != null) checkDeviceId(input.deviceName);
      const row = {
        hash: input.hash,
        label: input.label ?? null,
        max_uses: checkPositiveInt(input.maxUses, 'token max uses'),
        expires_at: checkTime(input.expiresAt, 'token expiry'),
        device_name: input.deviceName ?? null,
        created_at: this.now(),
      };
      const id = Number(this.s.insertToken.run(row).lastInsertRowid);
      const token = toToken(this.s.tokenById.get(id)!);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'token.create',
        subject: `token:${id}`,
        details: { label: token.label, maxUses: token.maxUses, expiresAt: token.expiresAt, deviceName: token.deviceName },
      });
      return token;
    });
  }

  checkToken(hash: string, now: EpochMs): Promise<TokenCheck> {
    return this.read('checkToken', () => judgeToken(this.s.tokenByHash.get(hash), now));
  }

  consumeToken(hash: string, now: EpochMs, actor: Actor = 'registrar'): Promise<TokenCheck> {
    return this.write('consumeToken', (): TokenCheck => {
      const row = this.s.tokenByHash.get(hash);
      const check = judgeToken(row, now);
      if (!check.ok) return check;
      this.s.useToken.run(row!.id);
      this.appendAuditInTx({ actor, action: 'token.use', subject: `token:${row!.id}`, details: { uses: row!.uses + 1 } });
      return { ok: true, token: toToken(this.s.tokenById.get(row!.id)!) };
    });
  }

  listTokens(): Promise<EnrollmentTokenRecord[]> {
    return this.read('listTokens', () => this.s.listTokens.all().map(toToken));
  }

  revokeToken(id: number, actor: Actor): Promise<boolean> {
    return this.write('revokeToken', () => {
      if (this.s.revokeToken.run(this.now(), id).changes === 0) return false;
      this.appendAuditInTx({ actor, action: 'token.revoke', subject: `token:${id}` });
      return true;
    });
  }

  createEnrollmentSession(session: NewEnrollmentSession): Promise<EnrollmentSession> {
    return this.write('createEnrollmentSession', () => {
      const row: SessionRow = {
        id: checkRandomId(session.id, 'enrollment session id'),
        bootstrap_id: checkBootstrapId(session.bootstrapId),
        secret: Buffer.from(session.secret),
        context: JSON.stringify(session.context),
        created_at: this.now(),
        expires_at: checkTime(session.expiresAt, 'session expiry'),
        used_at: null,
      };
      this.s.insertSession.run(row);
      return toSession(row);
    });
  }

  consumeEnrollmentSession(id: string, bootstrapId: string, now: EpochMs): Promise<SessionConsumption> {
    return this.write('consumeEnrollmentSession', (): SessionConsumption => {
      const row = this.s.sessionById.get(id);
      if (row === undefined) return { ok: false, reason: 'unknown' };
      if (row.bootstrap_id !== bootstrapId) return { ok: false, reason: 'other-client' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      if (row.expires_at <= now) return { ok: false, reason: 'expired' };
      // The secret has done its job: keep no copy of it.
      this.s.useSession.run(now, id);
      return { ok: true, session: { ...toSession(row), usedAt: now } };
    });
  }

  // ── certificates ───────────────────────────────────────────────────────

  addCertificate(cert: NewCertificate, actor: Actor): Promise<CertificateRecord> {
    return this.write('addCertificate', () => {
      checkSerial(cert.serial);
      if (this.s.deviceById.get(cert.deviceId) === undefined) {
        throw new StoreError('invalid-argument', `no device ${cert.deviceId}`);
      }
      this.s.insertCertificate.run({
        serial: cert.serial,
        device_id: cert.deviceId,
        not_before: checkTime(cert.notBefore, 'notBefore'),
        not_after: checkTime(cert.notAfter, 'notAfter'),
        pem: cert.pem,
        issued_at: this.now(),
      });
      this.appendAuditInTx({
        actor,
        action: 'certificate.issue',
        subject: `device:${cert.deviceId}`,
        details: { serial: cert.serial, notAfter: cert.notAfter },
      });
      return toCertificate(this.s.certificateBySerial.get(cert.serial)!);
    });
  }

  getCertificate(serial: string): Promise<CertificateRecord | null> {
    return this.read('getCertificate', () => {
      const row = this.s.certificateBySerial.get(serial);
      return row === undefined ? null : toCertificate(row);
    });
  }

  listCertificates(deviceId: string): Promise<CertificateRecord[]> {
    return this.read('listCertificates', () => this.s.certificatesByDevice.all(deviceId).map(toCertificate));
  }

  listRevokedCertificates(): Promise<RevokedCertificate[]> {
    return this.read('listRevokedCertificates', () => this.s.revokedCertificates.all().map(toRevokedCertificate));
  }

  // ── challenges ─────────────────────────────────────────────────────────

  useChallenge(use: ChallengeUse): Promise<boolean> {
    return this.write('useChallenge', () => this.useChallengeInTx(use), 'own');
  }

  /**
   * One statement, once per verdict: no read before it, no row after it. The
   * primary key decides first use (a conflict inserts nothing: `changes` 0),
   * also against other processes, since the transaction holds the write lock;
   * the foreign key refuses an unknown device (checked only when a row is
   * inserted: an id used before answers false whatever device is named).
   */
  private useChallengeInTx(use: ChallengeUse): boolean {
    const id = checkRandomId(use.id, 'challenge id');
    const usedAt = checkTime(use.usedAt, 'challenge use time');
    const expiresAt = checkTime(use.expiresAt, 'challenge expiry');
    try {
      return this.s.insertChallengeUse.run(id, use.deviceId, usedAt, expiresAt).changes === 1;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new StoreError('invalid-argument', `no device ${use.deviceId}`, { cause: err });
      }
      throw err;
    }
  }

  isChallengeUsed(id: string, expiresAt: EpochMs): Promise<boolean> {
    return this.read('isChallengeUsed', () => this.s.challengeUsed.get(expiresAt, id) !== undefined);
  }

  createChallenge(c: NewChallenge): Promise<ChallengeRecord> {
    return this.write('createChallenge', () => this.createChallengeInTx(c), 'own');
  }

  /**
   * One IMMEDIATE transaction for the whole batch, each write on its own
   * terms. Optimistically without any savepoint: a savepoint journals every
   * page the writes change (a copy of each) and costs two more statements,
   * on every batch, for a failure that is rare (the verifier checks inputs
   * first). If a write fails, that transaction is rolled back whole and the
   * batch runs again in a new one with a savepoint per write, so a failed
   * write is undone alone and the others commit. If SQLite itself ended the
   * transaction (a full disk, an I/O error), the batch fails as a whole.
   */
  applyBatch(writes: readonly BatchedWrite[]): Promise<BatchedOutcome[]> {
    return this.read('applyBatch', () => {
      try {
        return this.transaction(() => {
          try {
            return writes.map((w) => this.applyInTx(w));
          } catch (err) {
            // Still in the transaction: a write was refused. Throwing rolls the attempt back whole.
            if (this.db.inTransaction) throw new RetryWriteByWrite();
            throw err;
          }
        }, 'own');
      } catch (err) {
        if (!(err instanceof RetryWriteByWrite)) throw err;
      }
      return this.transaction(
        () =>
          writes.map((w) => {
            try {
              return this.nested(() => this.applyInTx(w)) as BatchedOutcome;
            } catch (err) {
              return asStoreError(w.kind, err);
            }
          }),
        'own',
      );
    });
  }

  private applyInTx(w: BatchedWrite): BatchedOutcome {
    switch (w.kind) {
      case 'create-challenge':
        return this.createChallengeInTx(w.challenge);
      case 'consume-challenge':
        return this.consumeChallengeInTx(w.request.id, w.request.deviceId, w.request.now);
      case 'use-challenge':
        return this.useChallengeInTx(w.use);
      case 'record-attestation':
        return this.recordAttestationInTx(w.input);
      case 'record-answer':
        return this.recordAnswerInTx(w.use, w.input);
    }
  }

  private createChallengeInTx(c: NewChallenge): ChallengeRecord {
    if (c.nonce.length < 16 || c.nonce.length > 64) throw new StoreError('invalid-argument', `challenge nonce of ${c.nonce.length} bytes`);
    const row: NewChallengeRow = {
      id: checkRandomId(c.id, 'challenge id'),
      device_id: c.deviceId,
      nonce: Buffer.from(c.nonce),
      pcr_selection: JSON.stringify(c.pcrSelection),
      offsets: JSON.stringify(c.offsets),
      created_at: this.now(),
      expires_at: checkTime(c.expiresAt, 'challenge expiry'),
    };
    // One statement: inserted only if the device exists, together with the device's TPM clock
    // as it stands (the freshness anchor of the clock check, `ChallengeRecord.tpmClockAtIssue`).
    const anchor = this.s.insertChallenge.get(row);
    if (anchor === undefined) throw new StoreError('invalid-argument', `no device ${c.deviceId}`);
    return toChallenge({ ...row, used_at: null, ...anchor });
  }

  getChallenge(id: string): Promise<ChallengeRecord | null> {
    return this.read('getChallenge', () => {
      const row = this.s.challengeById.get(id);
      return row === undefined ? null : toChallenge(row);
    });
  }

  consumeChallenge(id: string, deviceId: string, now: EpochMs): Promise<ChallengeConsumption> {
    return this.write('consumeChallenge', () => this.consumeChallengeInTx(id, deviceId, now), 'own');
  }

  private consumeChallengeInTx(id: string, deviceId: string, now: EpochMs): ChallengeConsumption {
    // The usual case in one statement; a refusal is then read back to say why, in the documented order.
    const used = this.s.useChallengeIfValid.get({ id, device_id: deviceId, now });
    if (used !== undefined) return { ok: true, challenge: toChallenge(used) };
    const row = this.s.challengeById.get(id);
    if (row === undefined) return { ok: false, reason: 'unknown' };
    if (row.device_id !== deviceId) return { ok: false, reason: 'other-device' };
    if (row.used_at !== null) return { ok: false, reason: 'used' };
    // Unreachable within one transaction: a row passing every check above was matched by the UPDATE.
    return { ok: false, reason: 'expired' };
  }

  // ── attestations ───────────────────────────────────────────────────────

  recordAttestation(input: RecordAttestationInput): Promise<RecordAttestationResult> {
    return this.write('recordAttestation', () => this.recordAttestationInTx(input), 'own');
  }

  private recordAttestationInTx(input: RecordAttestationInput): RecordAttestationResult {
    {
      const a = input.attestation;
      // The device's row and log state change: its held standing goes, committed or not.
      this.standings.forget(a.deviceId);
      // Only the status is needed here: reading the whole row (keys, certificate, facts) once per verdict costs.
      const device = this.s.deviceStatus.get(a.deviceId);
      if (device === undefined) throw new StoreError('invalid-argument', `no device ${a.deviceId}`);
      checkSha256Hex(a.evidenceDigest, 'evidence digest');
      const reasons = flattenReasons(a);
      const row: AttestationInsertRow = { ...attestationRow(a, reasons), prev_id: device.last_attestation_id };
      const id = Number(this.s.insertAttestation.run(row).lastInsertRowid);
      const previousStatus = device.status;
      let auditSeq: number | null = null;
      const update = input.device;
      if (update === undefined) {
        // The device's history still gains this attestation (migration 7: a chain per device).
        this.s.setLastAttestation.run(id, a.deviceId);
      } else {
        const clock = update.tpmClock;
        this.s.updateDeviceAfterAttestation.run({
          id: a.deviceId,
          last_attestation_id: id,
          status: update.status,
          verified_at: update.verified ? a.receivedAt : null,
          tpm_clock: clock === undefined ? null : clock.clock.toString(),
          tpm_reset_count: clock?.resetCount ?? null,
          tpm_restart_count: clock?.restartCount ?? null,
          updated_at: this.now(),
        });
        const audit = statusAudit(input, previousStatus, id, reasons);
        if (audit !== null) auditSeq = this.appendAuditInTx(audit).seq;
      }
      if (input.logState !== undefined) this.s.upsertDeviceLogState.run(logStateRow(input.logState, this.now()));
      // Built from the input rather than parsed back from the row: this runs once per verdict.
      const attestation: AttestationRecord = {
        id,
        deviceId: a.deviceId,
        challengeId: a.challengeId,
        receivedAt: a.receivedAt,
        evidenceDigest: a.evidenceDigest,
        status: a.status,
        verdict: a.verdict,
        error: a.error,
        policy: a.policy,
        tpmClock: a.tpmClock,
        reasons,
      };
      return { attestation, previousStatus, auditSeq };
    }
  }

  recordAnswer(use: ChallengeUse, input: RecordAttestationInput): Promise<RecordAnswerResult> {
    return this.write('recordAnswer', () => this.recordAnswerInTx(use, input), 'own');
  }

  /**
   * The use first: the primary key decides whether this is the first answer
   * (`useChallengeInTx`); if not, nothing else is written. An attestation that
   * then fails (an unknown device) takes its use with it: `applyBatch` undoes
   * the write whole.
   */
  private recordAnswerInTx(use: ChallengeUse, input: RecordAttestationInput): RecordAnswerResult {
    checkAnswer(use, input);
    if (!this.useChallengeInTx(use)) return 'used';
    return this.recordAttestationInTx(input);
  }

  listAttestations(deviceId: string, limit = 50, beforeId?: number): Promise<AttestationRecord[]> {
    return this.read('listAttestations', () => {
      const n = Math.max(1, Math.min(limit, 10_000));
      const before = beforeId === undefined ? null : checkPositiveInt(beforeId, 'attestation id');
      return this.s.attestationsByDevice.all({ device_id: deviceId, before, limit: n }).map(toAttestation);
    });
  }

  // ── revocation ─────────────────────────────────────────────────────────

  revokeDevice(input: RevokeDeviceInput): Promise<RevokeDeviceResult> {
    return this.write('revokeDevice', (): RevokeDeviceResult => {
      const device = this.s.deviceById.get(input.deviceId);
      if (device === undefined) return { ok: false, reason: 'unknown-device' };
      if (device.revoked === 1) return { ok: false, reason: 'already-revoked' };
      if (!stillUnverifiedSince(device.last_verified_at, input.ifLastVerifiedAt)) return { ok: false, reason: 'verified-since' };
      const now = this.now();
      const message = input.message ?? null;
      if (message !== null) checkText(message, 'revocation message', 512);
      const serials = this.s.validSerials.all(input.deviceId).map((r) => r.serial);
      this.s.revokeDeviceCertificates.run(now, input.reason, input.deviceId);
      this.s.markDeviceRevoked.run(now, input.deviceId);
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
      const id = Number(this.s.insertRevocation.run(row).lastInsertRowid);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'device.revoke',
        subject: `device:${input.deviceId}`,
        details: { reason: input.reason, message, serials, revocation: id },
      });
      return { ok: true, revocation: toRevocation({ ...row, id }) };
    });
  }

  reinstateDevice(input: ReinstateDeviceInput): Promise<ReinstateDeviceResult> {
    return this.write('reinstateDevice', (): ReinstateDeviceResult => {
      const device = this.s.deviceById.get(input.deviceId);
      if (device === undefined) return { ok: false, reason: 'unknown-device' };
      if (device.revoked !== 1) return { ok: false, reason: 'not-revoked' };
      const now = this.now();
      this.s.reinstateDevice.run(now, input.deviceId);
      this.s.markRevocationsReinstated.run(now, input.deviceId);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'device.reinstate',
        subject: `device:${input.deviceId}`,
        details: { message: input.message ?? null },
      });
      return { ok: true, device: toDevice(this.s.deviceById.get(input.deviceId)!) };
    });
  }

  listRevocations(deviceId?: string): Promise<RevocationRecord[]> {
    return this.read('listRevocations', () =>
      (deviceId === undefined ? this.s.allRevocations.all() : this.s.revocationsByDevice.all(deviceId)).map(toRevocation),
    );
  }

  listRevocationsPendingEffects(): Promise<RevocationRecord[]> {
    return this.read('listRevocationsPendingEffects', () => this.s.revocationsPendingEffects.all().map(toRevocation));
  }

  markRevocationEffectsApplied(id: number, at: EpochMs): Promise<void> {
    return this.write('markRevocationEffectsApplied', () => {
      this.s.markRevocationEffectsApplied.run(checkTime(at, 'effects applied time'), id);
    });
  }

  // ── webhook outbox ─────────────────────────────────────────────────────

  enqueueWebhook(input: NewWebhookDelivery): Promise<{ delivery: WebhookDelivery; created: boolean }> {
    return this.write('enqueueWebhook', () => {
      const now = this.now();
      const created =
        this.s.insertWebhook.run({
          event_key: checkText(input.eventKey, 'webhook event key', 256),
          kind: checkText(input.kind, 'webhook kind', 64),
          body: input.body,
          created_at: now,
          next_attempt_at: checkTime(input.notBefore ?? now, 'webhook notBefore'),
        }).changes === 1;
      return { delivery: toWebhook(this.s.webhookByKey.get(input.eventKey)!), created };
    });
  }

  dueWebhooks(now: EpochMs, limit: number): Promise<WebhookDelivery[]> {
    return this.read('dueWebhooks', () => this.s.dueWebhooks.all(now, Math.max(1, Math.min(limit, 10_000))).map(toWebhook));
  }

  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void> {
    return this.write('recordWebhookAttempt', () => {
      const at = checkTime(attempt.at, 'attempt time');
      if (attempt.outcome === 'delivered') {
        this.s.webhookDelivered.run(at, attempt.id);
        return;
      }
      const error = attempt.error.length > 1024 ? `${attempt.error.slice(0, 1023)}…` : attempt.error;
      if (attempt.outcome === 'retry') {
        this.s.webhookRetry.run(checkTime(attempt.nextAttemptAt, 'next attempt time'), error, attempt.id);
        return;
      }
      if (this.s.webhookFailed.run(at, error, attempt.id).changes === 1) {
        const row = this.s.webhookById.get(attempt.id)!;
        this.appendAuditInTx({
          actor: 'webhook',
          action: 'webhook.failed',
          subject: `webhook:${row.id}`,
          details: { eventKey: row.event_key, attempts: row.attempts, error },
        });
      }
    });
  }

  nextWebhookDue(): Promise<EpochMs | null> {
    return this.read('nextWebhookDue', () => this.s.nextWebhookDue.get()?.t ?? null);
  }

  listWebhooks(options: { limit?: number } = {}): Promise<WebhookDelivery[]> {
    return this.read('listWebhooks', () => this.s.listWebhooks.all(Math.max(1, Math.min(options.limit ?? 100, 10_000))).map(toWebhook));
  }

  // ── policies ───────────────────────────────────────────────────────────

  createPolicyVersion(input: NewPolicyVersion): Promise<PolicyRecord> {
    return this.write('createPolicyVersion', () => {
      checkName(input.name, 'policy name');
      const document = canonicalJson(input.document);
      const row: PolicyRow = {
        name: input.name,
        version: (this.s.latestPolicyVersion.get(input.name)?.v ?? 0) + 1,
        document,
        digest: createHash('sha256').update(document, 'utf8').digest('hex'),
        created_at: this.now(),
        created_by: input.actor,
      };
      this.s.insertPolicy.run(row);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'policy.create',
        subject: `policy:${row.name}@${row.version}`,
        details: { digest: row.digest },
      });
      return toPolicy(row);
    });
  }

  getPolicy(name: string, version?: number): Promise<PolicyRecord | null> {
    return this.read('getPolicy', () => {
      const row = version === undefined ? this.s.latestPolicy.get(name) : this.s.policyVersion.get(name, version);
      return row === undefined ? null : toPolicy(row);
    });
  }

  listPolicies(): Promise<PolicyRecord[]> {
    return this.read('listPolicies', () => this.s.latestPolicies.all().map(toPolicy));
  }

  assignPolicy(input: AssignPolicyInput): Promise<AssignPolicyResult> {
    return this.write('assignPolicy', (): AssignPolicyResult => {
      const version = input.policyVersion ?? null;
      if (this.s.latestPolicy.get(input.policyName) === undefined) return { ok: false, reason: 'unknown-policy' };
      if (version !== null && this.s.policyVersion.get(input.policyName, version) === undefined) {
        return { ok: false, reason: 'unknown-version' };
      }
      if (input.target.kind === 'device' && this.s.deviceById.get(input.target.deviceId) === undefined) {
        return { ok: false, reason: 'unknown-device' };
      }
      if (input.target.kind === 'group') checkName(input.target.group, 'group');
      const key = targetKey(input.target);
      const row: AssignmentRow = {
        ...key,
        policy_name: input.policyName,
        policy_version: version,
        assigned_at: this.now(),
        assigned_by: input.actor,
      };
      this.s.upsertAssignment.run(row);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'policy.assign',
        subject: `policy:${input.policyName}`,
        details: { scope: key.scope, target: key.target, version },
      });
      return { ok: true, assignment: toAssignment(row) };
    });
  }

  listPolicyAssignments(): Promise<PolicyAssignment[]> {
    return this.read('listPolicyAssignments', () => this.s.allAssignments.all().map(toAssignment));
  }

  resolvePolicy(deviceId: string): Promise<ResolvedPolicy | null> {
    return this.read('resolvePolicy', () => {
      const device = this.s.deviceById.get(deviceId);
      if (device === undefined) return null;
      const candidates: Array<{ scope: AssignmentRow['scope']; target: string }> = [{ scope: 'device', target: deviceId }];
      if (device.device_group !== null) candidates.push({ scope: 'group', target: device.device_group });
      candidates.push({ scope: 'all', target: '' });
      for (const c of candidates) {
        const a = this.s.assignment.get(c.scope, c.target);
        if (a === undefined) continue;
        const p = a.policy_version === null ? this.s.latestPolicy.get(a.policy_name) : this.s.policyVersion.get(a.policy_name, a.policy_version);
        if (p !== undefined) return { policy: toPolicy(p), assignment: toAssignment(a) };
      }
      return null;
    });
  }

  // ── model allowlist ────────────────────────────────────────────────────

  allowModel(input: AllowModelInput): Promise<AllowedModel> {
    return this.write('allowModel', () => {
      const row: ModelRow = {
        name: checkText(input.name, 'model name', 1024),
        digest: checkSha256Hex(input.digest, 'model digest'),
        note: input.note == null ? null : checkText(input.note, 'model note', 512),
        added_at: this.now(),
        added_by: input.actor,
        revoked_at: null,
      };
      this.s.upsertModel.run(row);
      this.appendAuditInTx({ actor: input.actor, action: 'model.allow', subject: `model:${row.name}`, details: { digest: row.digest } });
      return toModel(row);
    });
  }

  revokeModel(input: RevokeModelInput): Promise<number> {
    return this.write('revokeModel', () => {
      const now = this.now();
      const changes =
        input.digest === undefined
          ? this.s.revokeModelAll.run(now, input.name).changes
          : this.s.revokeModelDigest.run(now, input.name, input.digest).changes;
      if (changes > 0) {
        this.appendAuditInTx({
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
    return this.read('listModels', () => (options.includeRevoked === true ? this.s.allModels : this.s.activeModels).all().map(toModel));
  }

  // ── boot event logs ────────────────────────────────────────────────────

  putBootLog(deviceId: string, digest: string, data: Uint8Array): Promise<void> {
    return this.write('putBootLog', () => {
      checkSha256Hex(digest, 'boot log digest');
      // Delete then insert, so the rewritten log gets the newest rowid (the order kept).
      this.s.deleteBootLog.run(deviceId, digest);
      this.s.insertBootLog.run({ device_id: deviceId, digest, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), stored_at: this.now() });
      this.s.pruneBootLogs.run(deviceId, deviceId, BOOT_LOGS_KEPT);
    });
  }

  getBootLog(deviceId: string, digest: string): Promise<StoredBootLog | null> {
    return this.read('getBootLog', () => {
      const row = this.s.bootLog.get(deviceId, digest);
      return row === undefined ? null : toBootLog(row);
    });
  }

  latestBootLog(deviceId: string): Promise<StoredBootLog | null> {
    return this.read('latestBootLog', () => {
      const row = this.s.latestBootLog.get(deviceId);
      return row === undefined ? null : toBootLog(row);
    });
  }

  // ── admin credentials ──────────────────────────────────────────────────

  addAdminCredential(input: NewAdminCredential): Promise<AdminCredentialRecord> {
    return this.write('addAdminCredential', () => {
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
      this.s.insertAdminCredential.run(row);
      this.appendAuditInTx({
        actor: input.actor,
        action: 'admin.issue',
        subject: `admin:${row.name}`,
        details: { serial: row.serial, role: row.role, notAfter: row.not_after },
      });
      return toAdminCredential(row);
    });
  }

  getAdminCredential(serial: string): Promise<AdminCredentialRecord | null> {
    return this.read('getAdminCredential', () => {
      const row = this.s.adminCredentialBySerial.get(serial);
      return row === undefined ? null : toAdminCredential(row);
    });
  }

  listAdminCredentials(): Promise<AdminCredentialRecord[]> {
    return this.read('listAdminCredentials', () => this.s.allAdminCredentials.all().map(toAdminCredential));
  }

  revokeAdminCredentials(input: RevokeAdminCredentialsInput): Promise<AdminCredentialRecord[]> {
    return this.write('revokeAdminCredentials', () => {
      const name = checkName(input.name, 'admin name');
      if (input.serial !== undefined) checkSerial(input.serial);
      const now = this.now();
      const targets = this.s.activeAdminCredentialsByName.all(name).filter((r) => input.serial === undefined || r.serial === input.serial);
      for (const r of targets) this.s.revokeAdminCredential.run(now, input.actor, r.serial);
      if (targets.length > 0) {
        this.appendAuditInTx({ actor: input.actor, action: 'admin.revoke', subject: `admin:${name}`, details: { serials: targets.map((r) => r.serial) } });
      }
      return targets.map((r) => toAdminCredential({ ...r, revoked_at: now, revoked_by: input.actor }));
    });
  }

  // ── audit ──────────────────────────────────────────────────────────────

  appendAudit(input: AuditInput): Promise<AuditEntry> {
    return this.write('appendAudit', () => this.appendAuditInTx(input));
  }

  listAudit(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    return this.read('listAudit', () =>
      this.s.auditPage.all(options.afterSeq ?? 0, Math.max(1, Math.min(options.limit ?? 1000, 100_000))).map(toAuditEntry),
    );
  }

  verifyAuditChain(): Promise<AuditVerification> {
    return this.read('verifyAuditChain', () => {
      const verifier = new AuditChainVerifier();
      // One statement iterates the whole table: one read snapshot, constant memory.
      for (const row of this.s.auditAll.iterate()) {
        if (!verifier.add(toAuditRow(row))) break;
      }
      return verifier.result();
    });
  }

  // ── housekeeping ───────────────────────────────────────────────────────

  /**
   * Challenge uses go in slices of `PRUNE_SLICE`, each its own transaction,
   * with a turn of the event loop between them: at fleet rates an hour's
   * expired uses are hundreds of thousands of rows, and the server's
   * verdicts (on this connection, on the same loop) must not wait for all
   * of them at once. Each slice is a range at the start of the key
   * (migration 6), so it costs what it deletes. A crash between slices
   * leaves the rest for the next prune.
   */
  async pruneExpired(before: EpochMs): Promise<{ challenges: number; sessions: number }> {
    const first = await this.write('pruneExpired', () => ({
      challenges: this.s.pruneChallenges.run(before).changes,
      sessions: this.s.pruneSessions.run(before).changes,
    }));
    let uses = 0;
    for (;;) {
      const deleted = await this.write('pruneExpired', () => this.s.pruneChallengeUses.run(before, PRUNE_SLICE).changes);
      uses += deleted;
      if (deleted < PRUNE_SLICE) break;
      await nextTurn();
    }
    return { challenges: first.challenges + uses, sessions: first.sessions };
  }

  /**
   * In windows of `ATTESTATION_PRUNE_SLICE` attestation ids, each one
   * transaction, with a turn of the event loop between (`pruneByWindows`):
   * each window costs what it reads.
   */
  async pruneAttestations(before: EpochMs): Promise<number> {
    const cut = checkTime(before, 'attestation cut');
    return pruneByWindows(
      (after) =>
        this.write('pruneAttestations', () => {
          const window = this.s.attestationWindow.all(after, ATTESTATION_PRUNE_SLICE);
          const last = window[window.length - 1];
          if (last === undefined) return null;
          const old = window.some((r) => r.received_at < cut);
          return { last: last.id, full: window.length === ATTESTATION_PRUNE_SLICE, old, deleted: old ? this.s.pruneAttestationWindow.run(after, last.id, cut).changes : 0 };
        }),
      nextTurn,
    );
  }

  async close(): Promise<void> {
    this.standings.close();
    await this.checkpointer?.stop();
    return this.read('close', () => {
      if (this.db.open) this.db.close();
    });
  }
}

function asStoreError(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    return new StoreError('invalid-argument', `${what}: ${(err as Error).message}`, { cause: err });
  }
  return new StoreError('io', `${what}: ${(err as Error).message ?? String(err)}`, { cause: err });
}

/**
 * SQL: the clock given (`@tpm_clock`, `@tpm_reset_count`, `@tpm_restart_count`)
 * is later than the device's stored one, ordered by (resetCount,
 * restartCount, clock): restartCount starts again at 0 on a TPM Reset and
 * the clock may lose time across one (TPM 2.0 Part 2 §10.11.1), so
 * resetCount decides first. `clock` is a UINT64 kept as decimal TEXT
 * without leading zeros: the longer is larger, equal lengths compare as
 * bytes. Nothing stored: any clock is later; none given: never. One
 * conditional UPDATE, so concurrent commits cannot move it back.
 */
const CLOCK_IS_NEWER = `(@tpm_clock IS NOT NULL AND (tpm_clock IS NULL OR
  (@tpm_reset_count, @tpm_restart_count, length(@tpm_clock), @tpm_clock) > (tpm_reset_count, tpm_restart_count, length(tpm_clock), tpm_clock)))`;

/** Every statement, prepared once. */
function prepare(db: Database) {
  const q = <P extends unknown[] | object, R = unknown>(sql: string): Statement<P, R> => db.prepare<P, R>(sql);
  return {
    lastAudit: q<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
    insertAudit: q<AuditDbRow>(
      'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (@seq, @at, @actor, @action, @subject, @details, @prev_hash, @hash)',
    ),
    auditPage: q<[number, number], AuditDbRow>('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?'),
    auditAll: q<[], AuditDbRow>('SELECT * FROM audit_log ORDER BY seq'),

    deviceById: q<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
    deviceStanding: q<[string], DeviceStandingRow>(deviceStandingSql('?')),
    deviceStatus: q<[string], { status: DeviceRow['status']; last_attestation_id: number | null }>(
      'SELECT status, last_attestation_id FROM devices WHERE id = ?',
    ),
    deviceByEkName: q<[string], DeviceRow>('SELECT * FROM devices WHERE ek_name = ?'),
    // `id > coalesce(@after_id, '')` (every id sorts after '') rather than `@after_id IS NULL OR …`,
    // so that a page starts with a seek in the primary key's index instead of a walk from the first id.
    // `silent_since` has no index on purpose: last_verified_at changes with every verdict.
    listDevices: q<
      { status: string | null; revoked: number | null; grp: string | null; silent_since: number | null; after_id: string | null; limit: number },
      DeviceRow
    >(
      `SELECT * FROM devices
       WHERE (@status IS NULL OR status = @status) AND (@revoked IS NULL OR revoked = @revoked) AND (@grp IS NULL OR device_group = @grp)
         AND (@silent_since IS NULL OR coalesce(last_verified_at, created_at) <= @silent_since)
         AND id > coalesce(@after_id, '')
       ORDER BY id LIMIT @limit`,
    ),
    insertDevice: q<object>(
      `INSERT INTO devices (id, ek_public, ek_name, ek_certificate, ak_public, ak_name, facts, device_group, created_at, updated_at)
       VALUES (@id, @ek_public, @ek_name, @ek_certificate, @ak_public, @ak_name, @facts, @device_group, @created_at, @created_at)`,
    ),
    reenrollDevice: q<object>(
      `UPDATE devices SET ek_public = @ek_public, ek_certificate = @ek_certificate, ak_public = @ak_public, ak_name = @ak_name,
         facts = @facts, status = 'none', revoked = 0, reenroll_allowed = 0, last_verified_at = NULL,
         tpm_clock = NULL, tpm_reset_count = NULL, tpm_restart_count = NULL, updated_at = @updated_at
       WHERE id = @id`,
    ),
    setDeviceGroup: q<[string | null, number, string]>('UPDATE devices SET device_group = ?, updated_at = ? WHERE id = ?'),
    setReenrollAllowed: q<[number, string]>('UPDATE devices SET reenroll_allowed = 1, updated_at = ? WHERE id = ?'),
    // The clock only moves forward (see CLOCK_IS_NEWER): a late commit of an older quote leaves it alone.
    updateDeviceAfterAttestation: q<object>(
      `UPDATE devices SET status = @status,
         last_verified_at = coalesce(@verified_at, last_verified_at),
         tpm_clock = CASE WHEN ${CLOCK_IS_NEWER} THEN @tpm_clock ELSE tpm_clock END,
         tpm_reset_count = CASE WHEN ${CLOCK_IS_NEWER} THEN @tpm_reset_count ELSE tpm_reset_count END,
         tpm_restart_count = CASE WHEN ${CLOCK_IS_NEWER} THEN @tpm_restart_count ELSE tpm_restart_count END,
         last_attestation_id = @last_attestation_id, updated_at = @updated_at
       WHERE id = @id`,
    ),
    setLastAttestation: q<[number, string]>('UPDATE devices SET last_attestation_id = ? WHERE id = ?'),
    markDeviceRevoked: q<[number, string]>('UPDATE devices SET revoked = 1, reenroll_allowed = 0, updated_at = ? WHERE id = ?'),
    reinstateDevice: q<[number, string]>(
      `UPDATE devices SET revoked = 0, status = 'none', reenroll_allowed = 1, last_verified_at = NULL, updated_at = ? WHERE id = ?`,
    ),

    tokenByHash: q<[string], TokenRow>('SELECT * FROM enrollment_tokens WHERE hash = ?'),
    tokenById: q<[number], TokenRow>('SELECT * FROM enrollment_tokens WHERE id = ?'),
    insertToken: q<object>(
      `INSERT INTO enrollment_tokens (hash, label, max_uses, expires_at, device_name, created_at)
       VALUES (@hash, @label, @max_uses, @expires_at, @device_name, @created_at)`,
    ),
    // The guard repeats the check the transaction already made: the CHECK
    // constraint and this WHERE make an over-use impossible even if a caller
    // ever ran it outside a transaction.
    useToken: q<[number]>('UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ? AND uses < max_uses'),
    listTokens: q<[], TokenRow>('SELECT * FROM enrollment_tokens ORDER BY id'),
    revokeToken: q<[number, number]>('UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),

    insertSession: q<SessionRow>(
      `INSERT INTO enrollment_sessions (id, bootstrap_id, secret, context, created_at, expires_at, used_at)
       VALUES (@id, @bootstrap_id, @secret, @context, @created_at, @expires_at, @used_at)`,
    ),
    sessionById: q<[string], SessionRow>('SELECT * FROM enrollment_sessions WHERE id = ?'),
    useSession: q<[number, string]>(`UPDATE enrollment_sessions SET used_at = ?, secret = X'' WHERE id = ? AND used_at IS NULL`),
    pruneSessions: q<[number]>('DELETE FROM enrollment_sessions WHERE expires_at < ?'),

    insertCertificate: q<object>(
      `INSERT INTO certificates (serial, device_id, not_before, not_after, pem, issued_at)
       VALUES (@serial, @device_id, @not_before, @not_after, @pem, @issued_at)`,
    ),
    certificateBySerial: q<[string], CertificateRow>('SELECT * FROM certificates WHERE serial = ?'),
    certificatesByDevice: q<[string], CertificateRow>('SELECT * FROM certificates WHERE device_id = ? ORDER BY issued_at, serial'),
    validSerials: q<[string], { serial: string }>('SELECT serial FROM certificates WHERE device_id = ? AND revoked_at IS NULL ORDER BY serial'),
    revokeDeviceCertificates: q<[number, string, string]>(
      'UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE device_id = ? AND revoked_at IS NULL',
    ),
    revokedCertificates: q<[], CertificateRow>('SELECT * FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial'),

    insertChallenge: q<NewChallengeRow, ChallengeClockRow>(
      `INSERT INTO challenges (id, device_id, nonce, pcr_selection, offsets, created_at, expires_at, used_at,
         tpm_clock_at_issue, tpm_reset_count_at_issue, tpm_restart_count_at_issue)
       SELECT @id, @device_id, @nonce, @pcr_selection, @offsets, @created_at, @expires_at, NULL,
         tpm_clock, tpm_reset_count, tpm_restart_count
       FROM devices WHERE id = @device_id
       RETURNING tpm_clock_at_issue, tpm_reset_count_at_issue, tpm_restart_count_at_issue`,
    ),
    challengeById: q<[string], ChallengeRow>('SELECT * FROM challenges WHERE id = ?'),
    useChallengeIfValid: q<{ id: string; device_id: string; now: number }, ChallengeRow>(
      'UPDATE challenges SET used_at = @now WHERE id = @id AND device_id = @device_id AND used_at IS NULL AND expires_at > @now RETURNING *',
    ),
    pruneChallenges: q<[number]>('DELETE FROM challenges WHERE expires_at < ?'),
    insertChallengeUse: q<[string, string, number, number]>(
      'INSERT INTO challenge_uses (id, device_id, used_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (expires_at, id) DO NOTHING',
    ),
    challengeUsed: q<[number, string], number>('SELECT 1 FROM challenge_uses WHERE expires_at = ? AND id = ?').pluck(),
    // The oldest `limit` expired uses: a range at the start of the primary key, read and deleted in key order.
    pruneChallengeUses: q<[number, number]>(
      'DELETE FROM challenge_uses WHERE (expires_at, id) IN (SELECT expires_at, id FROM challenge_uses WHERE expires_at < ? ORDER BY expires_at, id LIMIT ?)',
    ),

    attestationWindow: q<[number, number], { id: number; received_at: number }>('SELECT id, received_at FROM attestations WHERE id > ? ORDER BY id LIMIT ?'),
    // A device's newest attestation stays: the head of its chain, named by its row.
    pruneAttestationWindow: q<[number, number, number]>(
      `DELETE FROM attestations AS a WHERE a.id > ? AND a.id <= ? AND a.received_at < ?
         AND a.id IS NOT (SELECT d.last_attestation_id FROM devices AS d WHERE d.id = a.device_id)`,
    ),
    insertAttestation: q<AttestationInsertRow>(
      `INSERT INTO attestations (device_id, challenge_id, received_at, evidence_digest, status, verdict, error_code, error_message,
         reasons, policy_name, policy_version, tpm_clock, tpm_reset_count, tpm_restart_count, prev_id)
       VALUES (@device_id, @challenge_id, @received_at, @evidence_digest, @status, @verdict, @error_code, @error_message,
         @reasons, @policy_name, @policy_version, @tpm_clock, @tpm_reset_count, @tpm_restart_count, @prev_id)`,
    ),
    // A device's history, newest first: its chain walked from the head, or from the attestation
    // before @before when that one is the device's own (the next page of a listing); any other
    // @before walks from the head and keeps what is older. `k` counts the rows kept so far, so the
    // walk stops once @limit are found, or where the chain ends (its oldest row, or one pruned).
    // A step costs ~0.5 µs: a foreign @before costs at most the device's history (README).
    attestationsByDevice: q<{ device_id: string; before: number | null; limit: number }, AttestationRow>(
      `WITH RECURSIVE chain (id, k) AS (
         SELECT CASE WHEN EXISTS (SELECT 1 FROM attestations WHERE id = @before AND device_id = @device_id)
           THEN (SELECT prev_id FROM attestations WHERE id = @before)
           ELSE (SELECT last_attestation_id FROM devices WHERE id = @device_id) END, 0
         UNION ALL
         SELECT a.prev_id, chain.k + (@before IS NULL OR a.id < @before)
         FROM chain JOIN attestations AS a ON a.id = chain.id
         WHERE chain.k + (@before IS NULL OR a.id < @before) < @limit
       )
       SELECT a.* FROM chain JOIN attestations AS a ON a.id = chain.id
       WHERE @before IS NULL OR chain.id < @before
       ORDER BY chain.id DESC LIMIT @limit`,
    ),

    insertRevocation: q<object>(
      `INSERT INTO revocations (device_id, reason, message, serials, actor, revoked_at, reinstated_at, effects_applied_at)
       VALUES (@device_id, @reason, @message, @serials, @actor, @revoked_at, @reinstated_at, @effects_applied_at)`,
    ),
    revocationsPendingEffects: q<[], RevocationRow>('SELECT * FROM revocations WHERE effects_applied_at IS NULL ORDER BY id'),
    markRevocationEffectsApplied: q<[number, number]>('UPDATE revocations SET effects_applied_at = ? WHERE id = ? AND effects_applied_at IS NULL'),

    deviceLogState: q<[string], DeviceLogStateRow>('SELECT * FROM device_log_state WHERE device_id = ?'),
    upsertDeviceLogState: q<DeviceLogStateRow>(
      `INSERT INTO device_log_state (device_id, reset_count, boot_log_digest, ima_entries, ima_pcrs, model_entries, model_pcrs,
         model_measurements, verified_pcrs, updated_at)
       VALUES (@device_id, @reset_count, @boot_log_digest, @ima_entries, @ima_pcrs, @model_entries, @model_pcrs,
         @model_measurements, @verified_pcrs, @updated_at)
       ON CONFLICT (device_id) DO UPDATE SET reset_count = excluded.reset_count, boot_log_digest = excluded.boot_log_digest,
         ima_entries = excluded.ima_entries, ima_pcrs = excluded.ima_pcrs, model_entries = excluded.model_entries,
         model_pcrs = excluded.model_pcrs, model_measurements = excluded.model_measurements,
         verified_pcrs = excluded.verified_pcrs, updated_at = excluded.updated_at`,
    ),
    setDeviceStatus: q<[string, number, string]>('UPDATE devices SET status = ?, updated_at = ? WHERE id = ?'),

    insertWebhook: q<object>(
      `INSERT INTO webhook_outbox (event_key, kind, body, created_at, next_attempt_at)
       VALUES (@event_key, @kind, @body, @created_at, @next_attempt_at) ON CONFLICT (event_key) DO NOTHING`,
    ),
    webhookByKey: q<[string], WebhookRow>('SELECT * FROM webhook_outbox WHERE event_key = ?'),
    webhookById: q<[number], WebhookRow>('SELECT * FROM webhook_outbox WHERE id = ?'),
    dueWebhooks: q<[number, number], WebhookRow>(
      `SELECT * FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
       ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    nextWebhookDue: q<[], { t: number | null }>('SELECT min(next_attempt_at) AS t FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL'),
    webhookDelivered: q<[number, number]>(
      'UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL',
    ),
    webhookRetry: q<[number, string, number]>(
      'UPDATE webhook_outbox SET next_attempt_at = ?, last_error = ?, attempts = attempts + 1 WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL',
    ),
    webhookFailed: q<[number, string, number]>(
      'UPDATE webhook_outbox SET failed_at = ?, last_error = ?, attempts = attempts + 1 WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL',
    ),
    listWebhooks: q<[number], WebhookRow>('SELECT * FROM webhook_outbox ORDER BY id DESC LIMIT ?'),
    markRevocationsReinstated: q<[number, string]>('UPDATE revocations SET reinstated_at = ? WHERE device_id = ? AND reinstated_at IS NULL'),
    allRevocations: q<[], RevocationRow>('SELECT * FROM revocations ORDER BY id'),
    revocationsByDevice: q<[string], RevocationRow>('SELECT * FROM revocations WHERE device_id = ? ORDER BY id'),

    latestPolicyVersion: q<[string], { v: number | null }>('SELECT max(version) AS v FROM policies WHERE name = ?'),
    insertPolicy: q<PolicyRow>(
      'INSERT INTO policies (name, version, document, digest, created_at, created_by) VALUES (@name, @version, @document, @digest, @created_at, @created_by)',
    ),
    latestPolicy: q<[string], PolicyRow>('SELECT * FROM policies WHERE name = ? ORDER BY version DESC LIMIT 1'),
    policyVersion: q<[string, number], PolicyRow>('SELECT * FROM policies WHERE name = ? AND version = ?'),
    latestPolicies: q<[], PolicyRow>(
      `SELECT p.* FROM policies p JOIN (SELECT name, max(version) AS v FROM policies GROUP BY name) m
         ON p.name = m.name AND p.version = m.v ORDER BY p.name`,
    ),
    upsertAssignment: q<AssignmentRow>(
      `INSERT INTO policy_assignments (scope, target, policy_name, policy_version, assigned_at, assigned_by)
       VALUES (@scope, @target, @policy_name, @policy_version, @assigned_at, @assigned_by)
       ON CONFLICT (scope, target) DO UPDATE SET policy_name = excluded.policy_name, policy_version = excluded.policy_version,
         assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by`,
    ),
    assignment: q<[string, string], AssignmentRow>('SELECT * FROM policy_assignments WHERE scope = ? AND target = ?'),
    allAssignments: q<[], AssignmentRow>('SELECT * FROM policy_assignments ORDER BY scope, target'),

    upsertModel: q<ModelRow>(
      `INSERT INTO model_allowlist (name, digest, note, added_at, added_by, revoked_at)
       VALUES (@name, @digest, @note, @added_at, @added_by, @revoked_at)
       ON CONFLICT (name, digest) DO UPDATE SET note = excluded.note, added_at = excluded.added_at,
         added_by = excluded.added_by, revoked_at = NULL`,
    ),
    revokeModelAll: q<[number, string]>('UPDATE model_allowlist SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL'),
    revokeModelDigest: q<[number, string, string]>(
      'UPDATE model_allowlist SET revoked_at = ? WHERE name = ? AND digest = ? AND revoked_at IS NULL',
    ),
    allModels: q<[], ModelRow>('SELECT * FROM model_allowlist ORDER BY name, digest'),
    activeModels: q<[], ModelRow>('SELECT * FROM model_allowlist WHERE revoked_at IS NULL ORDER BY name, digest'),

    insertAdminCredential: q<AdminCredentialRow>(
      `INSERT INTO admin_credentials (serial, name, role, not_before, not_after, issued_at, issued_by, revoked_at, revoked_by)
       VALUES (@serial, @name, @role, @not_before, @not_after, @issued_at, @issued_by, @revoked_at, @revoked_by)`,
    ),
    adminCredentialBySerial: q<[string], AdminCredentialRow>('SELECT * FROM admin_credentials WHERE serial = ?'),
    allAdminCredentials: q<[], AdminCredentialRow>('SELECT * FROM admin_credentials ORDER BY issued_at, serial'),
    activeAdminCredentialsByName: q<[string], AdminCredentialRow>(
      'SELECT * FROM admin_credentials WHERE name = ? AND revoked_at IS NULL ORDER BY issued_at, serial',
    ),
    revokeAdminCredential: q<[number, string, string]>('UPDATE admin_credentials SET revoked_at = ?, revoked_by = ? WHERE serial = ? AND revoked_at IS NULL'),

    deleteBootLog: q<[string, string]>('DELETE FROM boot_logs WHERE device_id = ? AND digest = ?'),
    insertBootLog: q<BootLogRow>('INSERT INTO boot_logs (device_id, digest, data, stored_at) VALUES (@device_id, @digest, @data, @stored_at)'),
    pruneBootLogs: q<[string, string, number]>(
      `DELETE FROM boot_logs WHERE device_id = ? AND rowid NOT IN
         (SELECT rowid FROM boot_logs WHERE device_id = ? ORDER BY rowid DESC LIMIT ?)`,
    ),
    bootLog: q<[string, string], BootLogRow>('SELECT * FROM boot_logs WHERE device_id = ? AND digest = ?'),
    latestBootLog: q<[string], BootLogRow>('SELECT * FROM boot_logs WHERE device_id = ? ORDER BY rowid DESC LIMIT 1'),
  };
}

/** A turn of the event loop: what a slice of a prune waits for before the next, so verdicts interleave. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
