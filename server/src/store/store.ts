import type { BatchedOutcome, BatchedWrite } from './entities/batch.js';
import type { AdminCredentialRecord, NewAdminCredential, RevokeAdminCredentialsInput } from './entities/admin-credential.js';
import type { Actor, EpochMs } from './entities/common.js';
import type { AttestationRecord, RecordAnswerResult, RecordAttestationInput, RecordAttestationResult } from './entities/attestation.js';
import type { AuditEntry, AuditInput, AuditVerification } from './entities/audit.js';
import type { StoredBootLog } from './entities/boot-log.js';
import type { CertificateRecord, NewCertificate, RevokedCertificate } from './entities/certificate.js';
import type { ChallengeConsumption, ChallengeConsumptionRequest, ChallengeRecord, ChallengeUse, NewChallenge } from './entities/challenge.js';
import type { StoreError } from './errors.js';
import type { Device, DeviceFilter, DeviceStanding, SetDeviceStatusInput } from './entities/device.js';
import type { DeviceLogState } from './entities/device-log-state.js';
import type { NewWebhookDelivery, WebhookAttempt, WebhookDelivery } from './entities/webhook.js';
import type { EnrollDeviceInput, EnrollDeviceResult } from './entities/enrollment.js';
import type { EnrollmentSession, NewEnrollmentSession, SessionConsumption } from './entities/enrollment-session.js';
import type { EnrollmentTokenRecord, NewEnrollmentToken, TokenCheck } from './entities/enrollment-token.js';
import type { AllowedModel, AllowModelInput, RevokeModelInput } from './entities/model-allowlist.js';
import type {
  AssignPolicyInput,
  AssignPolicyResult,
  NewPolicyVersion,
  PolicyAssignment,
  PolicyRecord,
  ResolvedPolicy,
} from './entities/policy.js';
import type {
  ReinstateDeviceInput,
  ReinstateDeviceResult,
  RevocationRecord,
  RevokeDeviceInput,
  RevokeDeviceResult,
} from './entities/revocation.js';

/**
 * Everything the verifier keeps. One interface, every method async, so the
 * embedded SQLite implementation and a PostgreSQL one are interchangeable.
 *
 * Guarantees every implementation gives:
 * - Each method is one transaction: it happens entirely or not at all.
 * - Single-use things (token uses, challenges, enrollment sessions) are
 *   consumed atomically: of any number of concurrent callers, at most as
 *   many succeed as there are uses, across processes sharing the database.
 * - Security-relevant changes write their audit entry in the same
 *   transaction, and the audit hash chain stays linear under concurrent writers.
 * - Expected refusals are results with a named reason (`{ ok: false, reason }`);
 *   exceptions (StoreError) are for broken databases and invalid arguments.
 */
export interface Store {
  // ── devices ────────────────────────────────────────────────────────────
  getDevice(id: string): Promise<Device | null>;
  /** The device's mutable fields and log position in one small read (the verifier's per-message read), or null. */
  getDeviceStanding(id: string): Promise<DeviceStanding | null>;
  getDeviceByEkName(ekName: string): Promise<Device | null>;
  /**
   * The devices the filter admits, in id order (byte order). Each one is
   * read whole, on SQLite synchronously: a caller that walks a large fleet
   * narrows the listing (`silentSince`) and pages it (`afterId`, `limit`),
   * yielding between pages. A `limit` that is not a positive integer or is
   * above 10,000 (`DEVICE_LIST_MAX_LIMIT`), or a `silentSince` that is not
   * a time, is a StoreError `invalid-argument`.
   */
  listDevices(filter?: DeviceFilter): Promise<Device[]>;
  setDeviceGroup(deviceId: string, group: string | null, actor: Actor): Promise<boolean>;
  /** Lets this device's EK enroll again once (e.g. after re-imaging). Audited. */
  allowReenrollment(deviceId: string, actor: Actor): Promise<boolean>;
  /**
   * Changes a device's status outside an attestation (the staleness monitor
   * turning a silent device `warning`); audited as `device.status` when it
   * changes. False for an unknown device, or one verified since the caller
   * read it (`ifLastVerifiedAt`): then nothing changes.
   */
  setDeviceStatus(input: SetDeviceStatusInput): Promise<boolean>;
  /** The verifier's log state of the device's current boot (written by `recordAttestation`), or null. */
  getDeviceLogState(deviceId: string): Promise<DeviceLogState | null>;

  // ── enrollment ─────────────────────────────────────────────────────────
  /** Device row (new, or re-enrolled if allowed) + certificate + one token use + audit entry, atomically. */
  enrollDevice(input: EnrollDeviceInput): Promise<EnrollDeviceResult>;

  createToken(input: NewEnrollmentToken): Promise<EnrollmentTokenRecord>;
  /** Would this token authorise an enrollment now? Consumes nothing. */
  checkToken(hash: string, now: EpochMs): Promise<TokenCheck>;
  /** Consumes one use, atomically; audited as `token.use`. */
  consumeToken(hash: string, now: EpochMs, actor?: Actor): Promise<TokenCheck>;
  listTokens(): Promise<EnrollmentTokenRecord[]>;
  revokeToken(id: number, actor: Actor): Promise<boolean>;

  createEnrollmentSession(session: NewEnrollmentSession): Promise<EnrollmentSession>;
  /** Single use, bound to the bootstrap client; the secret is wiped from the store. */
  consumeEnrollmentSession(id: string, bootstrapId: string, now: EpochMs): Promise<SessionConsumption>;

  // ── certificates ───────────────────────────────────────────────────────
  /** Records a renewed certificate for an enrolled device. Audited. */
  addCertificate(cert: NewCertificate, actor: Actor): Promise<CertificateRecord>;
  getCertificate(serial: string): Promise<CertificateRecord | null>;
  listCertificates(deviceId: string): Promise<CertificateRecord[]>;
  /** Every revoked certificate: the content of the CRL. */
  listRevokedCertificates(): Promise<RevokedCertificate[]>;

  // ── challenges ─────────────────────────────────────────────────────────
  /**
   * Records the single use of a sealed challenge: true if this is its first
   * use, false if it was used before (by any process sharing the store).
   * The device must exist (StoreError otherwise).
   */
  useChallenge(use: ChallengeUse): Promise<boolean>;
  /**
   * Whether a sealed challenge's use is recorded. A use is named by its id
   * and its expiry (which the sealed id carries), the order the store keeps
   * uses in so that pruning costs what it deletes.
   */
  isChallengeUsed(id: string, expiresAt: EpochMs): Promise<boolean>;
  /** Stored challenges (issued before sealed challenges; kept for those still open at an upgrade, and for tests). */
  createChallenge(challenge: NewChallenge): Promise<ChallengeRecord>;
  getChallenge(id: string): Promise<ChallengeRecord | null>;
  /** A stored challenge: single use, bound to the device, before expiry; refusal reasons checked in the order unknown, other-device, used, expired. */
  consumeChallenge(id: string, deviceId: string, now: EpochMs): Promise<ChallengeConsumption>;

  // ── attestations ───────────────────────────────────────────────────────
  /** Attestation row + device status/clock update + audit entry when security-relevant, atomically. */
  recordAttestation(input: RecordAttestationInput): Promise<RecordAttestationResult>;
  /**
   * The answer to a sealed challenge: its use (`useChallenge`) and its
   * attestation (`recordAttestation`) in one transaction, so a verdict and
   * the single use it rests on are stored together or not at all. `used`,
   * with nothing written, if the use was recorded before (by any process
   * sharing the store): that evidence is a replay and its verdict must not
   * stand.
   */
  recordAnswer(use: ChallengeUse, input: RecordAttestationInput): Promise<RecordAnswerResult>;
  /**
   * The verifier's answers (a challenge's use with its attestation), attestation records, challenge uses
   * and stored challenges' creations and consumptions of one turn of its event loop, committed together (group commit: one
   * commit instead of one each), each atomic on its own and answered as its
   * single-write method would: one that fails (an unknown device, a bad
   * nonce) is undone alone and its outcome is that StoreError; the others
   * commit. Consumptions, uses and answers of one challenge are answered in the order given.
   * Outcomes in input order.
   */
  applyBatch(writes: readonly BatchedWrite[]): Promise<BatchedOutcome[]>;
  /** Newest first; with `beforeId`, only those older than that attestation (the next page). */
  listAttestations(deviceId: string, limit?: number, beforeId?: number): Promise<AttestationRecord[]>;

  // ── revocation ─────────────────────────────────────────────────────────
  /**
   * Device revoked + its valid certificates revoked + revocation row + audit
   * entry, atomically; with `ifLastVerifiedAt`, none of it (`verified-since`)
   * if the device was verified since the caller read it.
   */
  revokeDevice(input: RevokeDeviceInput): Promise<RevokeDeviceResult>;
  /**
   * Lifts a revocation: status back to `none` (trusted only after a passing
   * attestation), re-enrollment of its EK allowed (its old certificates stay
   * revoked, so it needs a new one). Audited.
   */
  reinstateDevice(input: ReinstateDeviceInput): Promise<ReinstateDeviceResult>;
  listRevocations(deviceId?: string): Promise<RevocationRecord[]>;
  /** Revocations whose side effects may not all have been applied (`effectsAppliedAt` null), oldest first. */
  listRevocationsPendingEffects(): Promise<RevocationRecord[]>;
  /** Records that every side effect of a revocation was applied. */
  markRevocationEffectsApplied(id: number, at: EpochMs): Promise<void>;

  // ── webhook outbox ─────────────────────────────────────────────────────
  /** Adds a call to the outbox, once per `eventKey` (a second enqueue returns the first, `created: false`). */
  enqueueWebhook(input: NewWebhookDelivery): Promise<{ readonly delivery: WebhookDelivery; readonly created: boolean }>;
  /** Undelivered, not given-up calls due at `now`, oldest due first. */
  dueWebhooks(now: EpochMs, limit: number): Promise<WebhookDelivery[]>;
  /** Records an attempt: delivered, to retry at a time, or given up (audited as `webhook.failed`). */
  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void>;
  /** The earliest `nextAttemptAt` of a pending call, or null when none is pending. */
  nextWebhookDue(): Promise<EpochMs | null>;
  /** Newest first. */
  listWebhooks(options?: { limit?: number }): Promise<WebhookDelivery[]>;

  // ── policies ───────────────────────────────────────────────────────────
  createPolicyVersion(input: NewPolicyVersion): Promise<PolicyRecord>;
  /** The given version, or the latest. */
  getPolicy(name: string, version?: number): Promise<PolicyRecord | null>;
  /** Latest version of every policy. */
  listPolicies(): Promise<PolicyRecord[]>;
  assignPolicy(input: AssignPolicyInput): Promise<AssignPolicyResult>;
  listPolicyAssignments(): Promise<PolicyAssignment[]>;
  /** Device assignment, else its group's, else the fleet's; null if none applies. */
  resolvePolicy(deviceId: string): Promise<ResolvedPolicy | null>;

  // ── model allowlist ────────────────────────────────────────────────────
  allowModel(input: AllowModelInput): Promise<AllowedModel>;
  /** Returns how many digests were revoked. */
  revokeModel(input: RevokeModelInput): Promise<number>;
  listModels(options?: { includeRevoked?: boolean }): Promise<AllowedModel[]>;

  // ── boot event logs ────────────────────────────────────────────────────
  /** Keeps the latest logs of a device by digest (the two most recent). */
  putBootLog(deviceId: string, digest: string, data: Uint8Array): Promise<void>;
  getBootLog(deviceId: string, digest: string): Promise<StoredBootLog | null>;
  latestBootLog(deviceId: string): Promise<StoredBootLog | null>;

  // ── admin credentials ──────────────────────────────────────────────────
  /** Records an admin client certificate the fleet CA issued. Audited (`admin.issue`). */
  addAdminCredential(input: NewAdminCredential): Promise<AdminCredentialRecord>;
  getAdminCredential(serial: string): Promise<AdminCredentialRecord | null>;
  /** Every admin credential ever issued, oldest first. */
  listAdminCredentials(): Promise<AdminCredentialRecord[]>;
  /** Revokes a name's unrevoked credentials (or the one `serial`); returns those revoked. Audited (`admin.revoke`). */
  revokeAdminCredentials(input: RevokeAdminCredentialsInput): Promise<AdminCredentialRecord[]>;

  // ── audit ──────────────────────────────────────────────────────────────
  appendAudit(input: AuditInput): Promise<AuditEntry>;
  /** In sequence order, starting after `afterSeq`. */
  listAudit(options?: { afterSeq?: number; limit?: number }): Promise<AuditEntry[]>;
  /** Walks the whole chain; reports the first entry that does not verify. */
  verifyAuditChain(): Promise<AuditVerification>;

  // ── housekeeping ───────────────────────────────────────────────────────
  /** Deletes challenges, challenge uses and enrollment sessions that expired before `before` (`challenges` counts both kinds). */
  pruneExpired(before: EpochMs): Promise<{ challenges: number; sessions: number }>;
  /**
   * Deletes the attestations received before `before`, except each
   * device's latest (every device keeps its last verdict), and returns how
   * many it deleted. Devices, their standing, revocations and the audit
   * log (which records every change of standing) are untouched. Runs in
   * slices, so it never holds the store (or, on SQLite, the event loop) for
   * long; a crash between slices leaves the rest for the next run.
   */
  pruneAttestations(before: EpochMs): Promise<number>;
  close(): Promise<void>;
}
