import type { DeviceFacts, Ear, LogOffsets, PcrSelection, PcrValues, RevocationReason } from '@vigil/protocol/core';
import type { AdminCredentialRecord, AdminRole } from '../entities/admin-credential.js';
import type { AttestationReason, AttestationRecord } from '../entities/attestation.js';
import type { AuditRow } from '../audit-chain.js';
import type { AuditEntry } from '../entities/audit.js';
import type { StoredBootLog } from '../entities/boot-log.js';
import type { CertificateRecord, RevokedCertificate } from '../entities/certificate.js';
import type { ChallengeRecord } from '../entities/challenge.js';
import type { JsonObject, JsonValue } from '../entities/common.js';
import type { Device, DeviceStanding, DeviceStatus, TpmClockState } from '../entities/device.js';
import type { EnrollmentSession } from '../entities/enrollment-session.js';
import type { EnrollmentTokenRecord } from '../entities/enrollment-token.js';
import type { AllowedModel } from '../entities/model-allowlist.js';
import type { PolicyAssignment, PolicyRecord, PolicyTarget } from '../entities/policy.js';
import type { RevocationRecord } from '../entities/revocation.js';
import type { DeviceLogState, ModelMeasurementRecord } from '../entities/device-log-state.js';
import type { WebhookDelivery } from '../entities/webhook.js';

/**
 * Rows as better-sqlite3 returns them, and their mapping to the store's
 * entities. JSON columns hold what the store itself wrote, so parsing them
 * back is trusted.
 */

export interface DeviceRow {
  id: string;
  ek_public: Buffer;
  ek_name: string;
  ek_certificate: Buffer | null;
  ak_public: Buffer;
  ak_name: string;
  facts: string;
  status: DeviceStatus;
  revoked: number;
  reenroll_allowed: number;
  device_group: string | null;
  last_verified_at: number | null;
  tpm_clock: string | null;
  tpm_reset_count: number | null;
  tpm_restart_count: number | null;
  created_at: number;
  updated_at: number;
}

function clockFrom(clock: string | null, reset: number | null, restart: number | null): TpmClockState | null {
  if (clock === null || reset === null || restart === null) return null;
  return { clock: BigInt(clock), resetCount: reset, restartCount: restart };
}

export function toDevice(r: DeviceRow): Device {
  return {
    id: r.id,
    ekPublic: r.ek_public,
    ekName: r.ek_name,
    ekCertificate: r.ek_certificate,
    akPublic: r.ak_public,
    akName: r.ak_name,
    facts: JSON.parse(r.facts) as DeviceFacts,
    ...changingFields(r),
    createdAt: r.created_at,
  };
}

/** What can change about a device after it enrolled, mapped once for `toDevice` and `toDeviceStanding`. */
function changingFields(
  r: Pick<DeviceRow, 'status' | 'revoked' | 'reenroll_allowed' | 'device_group' | 'last_verified_at' | 'tpm_clock' | 'tpm_reset_count' | 'tpm_restart_count' | 'updated_at'>,
): Omit<DeviceStanding, 'id' | 'akName' | 'facts' | 'log'> {
  return {
    status: r.status,
    revoked: r.revoked === 1,
    reenrollAllowed: r.reenroll_allowed === 1,
    group: r.device_group,
    lastVerifiedAt: r.last_verified_at,
    tpmClock: clockFrom(r.tpm_clock, r.tpm_reset_count, r.tpm_restart_count),
    updatedAt: r.updated_at,
  };
}

/** `devices` left-joined with `device_log_state`: the columns `toDeviceStanding` needs. */
export type DeviceStandingRow = Pick<
  DeviceRow,
  'id' | 'ak_name' | 'facts' | 'status' | 'revoked' | 'reenroll_allowed' | 'device_group' | 'last_verified_at' | 'tpm_clock' | 'tpm_reset_count' | 'tpm_restart_count' | 'updated_at'
> & {
  /** Null when no log state is stored. */
  log_device_id: string | null;
  log_reset_count: number | null;
  log_boot_log_digest: string | null;
  log_ima_entries: number | null;
  log_model_entries: number | null;
};

/** The one query both stores run for it (SQLite `?`, PostgreSQL `$1`). */
export function deviceStandingSql(placeholder: string): string {
  return `SELECT d.id, d.ak_name, d.facts, d.status, d.revoked, d.reenroll_allowed, d.device_group, d.last_verified_at,
      d.tpm_clock, d.tpm_reset_count, d.tpm_restart_count, d.updated_at,
      l.device_id AS log_device_id, l.reset_count AS log_reset_count, l.boot_log_digest AS log_boot_log_digest,
      l.ima_entries AS log_ima_entries, l.model_entries AS log_model_entries
    FROM devices d LEFT JOIN device_log_state l ON l.device_id = d.id
    WHERE d.id = ${placeholder}`;
}

export function toDeviceStanding(r: DeviceStandingRow): DeviceStanding {
  return {
    id: r.id,
    akName: r.ak_name,
    facts: JSON.parse(r.facts) as DeviceFacts,
    ...changingFields(r),
    log:
      r.log_device_id === null
        ? null
        : { resetCount: r.log_reset_count, bootLogDigest: r.log_boot_log_digest, imaEntries: r.log_ima_entries ?? 0, modelEntries: r.log_model_entries ?? 0 },
  };
}

export interface TokenRow {
  id: number;
  hash: string;
  label: string | null;
  max_uses: number;
  uses: number;
  expires_at: number;
  device_name: string | null;
  created_at: number;
  revoked_at: number | null;
}

export function toToken(r: TokenRow): EnrollmentTokenRecord {
  return {
    id: r.id,
    label: r.label,
    maxUses: r.max_uses,
    uses: r.uses,
    expiresAt: r.expires_at,
    deviceName: r.device_name,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

export interface SessionRow {
  id: string;
  bootstrap_id: string;
  secret: Buffer;
  context: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export function toSession(r: SessionRow): EnrollmentSession {
  return {
    id: r.id,
    bootstrapId: r.bootstrap_id,
    secret: r.secret,
    context: JSON.parse(r.context) as JsonObject,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
  };
}

export interface CertificateRow {
  serial: string;
  device_id: string;
  not_before: number;
  not_after: number;
  pem: string;
  issued_at: number;
  revoked_at: number | null;
  revocation_reason: RevocationReason | null;
}

export function toCertificate(r: CertificateRow): CertificateRecord {
  return {
    serial: r.serial,
    deviceId: r.device_id,
    notBefore: r.not_before,
    notAfter: r.not_after,
    pem: r.pem,
    issuedAt: r.issued_at,
    revokedAt: r.revoked_at,
  };
}

export function toRevokedCertificate(r: CertificateRow): RevokedCertificate {
  return {
    serial: r.serial,
    deviceId: r.device_id,
    revokedAt: r.revoked_at ?? 0,
    reason: r.revocation_reason ?? 'admin',
    notAfter: r.not_after,
  };
}

export interface ChallengeRow {
  id: string;
  device_id: string;
  nonce: Buffer;
  pcr_selection: string;
  offsets: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** The device's clock when the challenge was created (migration 4). */
  tpm_clock_at_issue: string | null;
  tpm_reset_count_at_issue: number | null;
  tpm_restart_count_at_issue: number | null;
}

/** What a new challenge is inserted with; the store adds the device's clock (`ChallengeClockRow`). */
export type NewChallengeRow = Omit<ChallengeRow, 'used_at' | keyof ChallengeClockRow>;
export type ChallengeClockRow = Pick<ChallengeRow, 'tpm_clock_at_issue' | 'tpm_reset_count_at_issue' | 'tpm_restart_count_at_issue'>;

export function toChallenge(r: ChallengeRow): ChallengeRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    nonce: r.nonce,
    pcrSelection: JSON.parse(r.pcr_selection) as PcrSelection,
    offsets: JSON.parse(r.offsets) as LogOffsets,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
    tpmClockAtIssue: clockFrom(r.tpm_clock_at_issue, r.tpm_reset_count_at_issue, r.tpm_restart_count_at_issue),
  };
}

export interface AttestationRow {
  id: number;
  device_id: string;
  challenge_id: string | null;
  received_at: number;
  evidence_digest: string;
  status: DeviceStatus;
  verdict: string | null;
  error_code: string | null;
  error_message: string | null;
  reasons: string;
  policy_name: string | null;
  policy_version: number | null;
  tpm_clock: string | null;
  tpm_reset_count: number | null;
  tpm_restart_count: number | null;
}

/**
 * What the SQLite store inserts: the row both stores write, and the link to
 * the device's previous attestation (migration 7: a device's history is a
 * chain, walked from `devices.last_attestation_id`).
 */
export type AttestationInsertRow = Omit<AttestationRow, 'id'> & { prev_id: number | null };

export function toAttestation(r: AttestationRow): AttestationRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    challengeId: r.challenge_id,
    receivedAt: r.received_at,
    evidenceDigest: r.evidence_digest,
    status: r.status,
    verdict: r.verdict === null ? null : (JSON.parse(r.verdict) as Ear),
    error:
      r.error_code === null
        ? null
        : ({ code: r.error_code, message: r.error_message ?? '' } as AttestationRecord['error']),
    policy: r.policy_name === null || r.policy_version === null ? null : { name: r.policy_name, version: r.policy_version },
    tpmClock: clockFrom(r.tpm_clock, r.tpm_reset_count, r.tpm_restart_count),
    reasons: JSON.parse(r.reasons) as AttestationReason[],
  };
}

export interface RevocationRow {
  id: number;
  device_id: string;
  reason: RevocationReason;
  message: string | null;
  serials: string;
  actor: string;
  revoked_at: number;
  reinstated_at: number | null;
  effects_applied_at: number | null;
}

export function toRevocation(r: RevocationRow): RevocationRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    reason: r.reason,
    message: r.message,
    serials: JSON.parse(r.serials) as string[],
    actor: r.actor,
    revokedAt: r.revoked_at,
    reinstatedAt: r.reinstated_at,
    effectsAppliedAt: r.effects_applied_at,
  };
}

export interface PolicyRow {
  name: string;
  version: number;
  document: string;
  digest: string;
  created_at: number;
  created_by: string;
}

export function toPolicy(r: PolicyRow): PolicyRecord {
  return {
    name: r.name,
    version: r.version,
    document: JSON.parse(r.document) as JsonValue,
    digest: r.digest,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

export interface AssignmentRow {
  scope: 'device' | 'group' | 'all';
  target: string;
  policy_name: string;
  policy_version: number | null;
  assigned_at: number;
  assigned_by: string;
}

export function targetKey(target: PolicyTarget): { scope: AssignmentRow['scope']; target: string } {
  switch (target.kind) {
    case 'device':
      return { scope: 'device', target: target.deviceId };
    case 'group':
      return { scope: 'group', target: target.group };
    case 'all':
      return { scope: 'all', target: '' };
  }
}

export function toAssignment(r: AssignmentRow): PolicyAssignment {
  const target: PolicyTarget =
    r.scope === 'device' ? { kind: 'device', deviceId: r.target } : r.scope === 'group' ? { kind: 'group', group: r.target } : { kind: 'all' };
  return {
    target,
    policyName: r.policy_name,
    policyVersion: r.policy_version,
    assignedAt: r.assigned_at,
    assignedBy: r.assigned_by,
  };
}

export interface ModelRow {
  name: string;
  digest: string;
  note: string | null;
  added_at: number;
  added_by: string;
  revoked_at: number | null;
}

export function toModel(r: ModelRow): AllowedModel {
  return {
    name: r.name,
    digest: r.digest,
    note: r.note,
    addedAt: r.added_at,
    addedBy: r.added_by,
    revokedAt: r.revoked_at,
  };
}

export interface BootLogRow {
  device_id: string;
  digest: string;
  data: Buffer;
  stored_at: number;
}

export function toBootLog(r: BootLogRow): StoredBootLog {
  return { deviceId: r.device_id, digest: r.digest, data: r.data, storedAt: r.stored_at };
}

export interface AuditDbRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export function toAuditRow(r: AuditDbRow): AuditRow {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function toAuditEntry(r: AuditDbRow): AuditEntry {
  return { ...toAuditRow(r), details: JSON.parse(r.details) as JsonObject };
}

export interface AdminCredentialRow {
  serial: string;
  name: string;
  role: AdminRole;
  not_before: number;
  not_after: number;
  issued_at: number;
  issued_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
}

export function toAdminCredential(r: AdminCredentialRow): AdminCredentialRecord {
  return {
    serial: r.serial,
    name: r.name,
    role: r.role,
    notBefore: r.not_before,
    notAfter: r.not_after,
    issuedAt: r.issued_at,
    issuedBy: r.issued_by,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
  };
}

export interface DeviceLogStateRow {
  device_id: string;
  reset_count: number | null;
  boot_log_digest: string | null;
  ima_entries: number;
  ima_pcrs: string;
  model_entries: number;
  model_pcrs: string;
  model_measurements: string;
  verified_pcrs: string | null;
  updated_at: number;
}

export function toDeviceLogState(r: DeviceLogStateRow): DeviceLogState {
  return {
    deviceId: r.device_id,
    resetCount: r.reset_count,
    bootLogDigest: r.boot_log_digest,
    ima: { entries: r.ima_entries, pcrs: JSON.parse(r.ima_pcrs) as PcrValues },
    model: {
      entries: r.model_entries,
      pcrs: JSON.parse(r.model_pcrs) as PcrValues,
      measurements: JSON.parse(r.model_measurements) as ModelMeasurementRecord[],
    },
    verifiedPcrs: r.verified_pcrs === null ? null : (JSON.parse(r.verified_pcrs) as PcrValues),
    updatedAt: r.updated_at,
  };
}

export interface WebhookRow {
  id: number;
  event_key: string;
  kind: string;
  body: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  delivered_at: number | null;
  failed_at: number | null;
}

export function toWebhook(r: WebhookRow): WebhookDelivery {
  return {
    id: r.id,
    eventKey: r.event_key,
    kind: r.kind,
    body: r.body,
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    failedAt: r.failed_at,
  };
}
