import type { AttestationReason, NewAttestation, RecordAttestationInput } from './entities/attestation.js';
import type { ChallengeUse } from './entities/challenge.js';
import type { AuditInput } from './entities/audit.js';
import type { EpochMs } from './entities/common.js';
import { DEVICE_LIST_MAX_LIMIT, type DeviceFilter, type DeviceStatus, type IfLastVerifiedAt } from './entities/device.js';
import type { NewDeviceLogState } from './entities/device-log-state.js';
import type { TokenCheck } from './entities/enrollment-token.js';
import { StoreError } from './errors.js';
import { toToken, type AdminCredentialRow, type AttestationRow, type DeviceLogStateRow, type TokenRow } from './sqlite/rows.js';
import { checkDeviceId, checkPositiveInt, checkSha256Hex, checkTime } from './validate.js';

/*
 * Decisions both stores (SQLite and PostgreSQL) make the same way, written
 * once. Kept small and pure; the contract suite (`server/test/store-suite.ts`)
 * pins both stores to the same behaviour.
 */

/** Why a token does or does not authorise an enrollment at `now`, in the documented order. */
export function judgeToken(row: TokenRow | undefined, now: EpochMs): TokenCheck {
  if (row === undefined) return { ok: false, reason: 'unknown' };
  if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
  if (row.expires_at <= now) return { ok: false, reason: 'expired' };
  if (row.uses >= row.max_uses) return { ok: false, reason: 'used-up' };
  return { ok: true, token: toToken(row) };
}

/**
 * Whether a change conditioned on the device's last verification (`IfLastVerifiedAt`)
 * may go ahead: no condition, or the device still stands where the caller read it.
 */
export function stillUnverifiedSince(lastVerifiedAt: EpochMs | null, condition: IfLastVerifiedAt | undefined): boolean {
  return condition === undefined || lastVerifiedAt === condition;
}

export function checkAdminRole(role: string): AdminCredentialRow['role'] {
  if (role === 'viewer' || role === 'operator' || role === 'admin') return role;
  throw new StoreError('invalid-argument', `invalid admin role: ${JSON.stringify(role)}`);
}

/** A log state as its row; the PCR and measurement JSON is the verifier's and stored as written. */
export function logStateRow(state: NewDeviceLogState, now: EpochMs): DeviceLogStateRow {
  checkDeviceId(state.deviceId);
  if (state.bootLogDigest !== null) checkSha256Hex(state.bootLogDigest, 'boot log digest');
  return {
    device_id: state.deviceId,
    reset_count: state.resetCount,
    boot_log_digest: state.bootLogDigest,
    ima_entries: state.ima.entries,
    ima_pcrs: JSON.stringify(state.ima.pcrs),
    model_entries: state.model.entries,
    model_pcrs: JSON.stringify(state.model.pcrs),
    model_measurements: JSON.stringify(state.model.measurements),
    verified_pcrs: state.verifiedPcrs === null ? null : JSON.stringify(state.verifiedPcrs),
    updated_at: now,
  };
}

/** A device listing's paging and time arguments, checked alike by both stores (`Store.listDevices`). */
export function deviceListArguments(filter: DeviceFilter): { readonly silentSince: EpochMs | null; readonly limit: number | null } {
  if (filter.limit !== undefined && checkPositiveInt(filter.limit, 'device list limit') > DEVICE_LIST_MAX_LIMIT) {
    throw new StoreError('invalid-argument', `invalid device list limit: ${filter.limit} (at most ${DEVICE_LIST_MAX_LIMIT})`);
  }
  return {
    silentSince: filter.silentSince === undefined ? null : checkTime(filter.silentSince, 'device list silentSince'),
    limit: filter.limit ?? null,
  };
}

/** How many boot event logs are kept per device (the current one and the one before), as in SQLite. */
export const BOOT_LOGS_KEPT = 2;

/** An attestation as its row (both stores insert the same columns; `reasons` already flattened). */
export function attestationRow(a: NewAttestation, reasons: readonly unknown[]): Omit<AttestationRow, 'id'> {
  return {
    device_id: a.deviceId,
    challenge_id: a.challengeId,
    received_at: checkTime(a.receivedAt, 'receivedAt'),
    evidence_digest: a.evidenceDigest,
    status: a.status,
    verdict: a.verdict === null ? null : JSON.stringify(a.verdict),
    error_code: a.error?.code ?? null,
    error_message: a.error?.message ?? null,
    reasons: JSON.stringify(reasons),
    policy_name: a.policy?.name ?? null,
    policy_version: a.policy?.version ?? null,
    tpm_clock: a.tpmClock === null ? null : a.tpmClock.clock.toString(),
    tpm_reset_count: a.tpmClock?.resetCount ?? null,
    tpm_restart_count: a.tpmClock?.restartCount ?? null,
  };
}

/**
 * The audit entry an attestation writes when it is security-relevant (the
 * device's standing changed, or it is contraindicated), or null: both stores
 * write it in the attestation's transaction.
 */
export function statusAudit(input: RecordAttestationInput, previousStatus: DeviceStatus, attestationId: number, reasons: readonly AttestationReason[]): AuditInput | null {
  const update = input.device;
  if (update === undefined || (update.status === previousStatus && update.status !== 'contraindicated')) return null;
  const a = input.attestation;
  return {
    actor: input.actor,
    action: 'device.status',
    subject: `device:${a.deviceId}`,
    details: {
      from: previousStatus,
      to: update.status,
      attestation: attestationId,
      challenge: a.challengeId,
      reasons: reasons.slice(0, 16).map((r) => `${r.submodule}/${r.code}`),
    },
  };
}

/** An answer's challenge use and its evidence must be the same device's (`Store.recordAnswer`). */
export function checkAnswer(use: ChallengeUse, input: RecordAttestationInput): void {
  if (use.deviceId !== input.attestation.deviceId) {
    throw new StoreError('invalid-argument', `challenge use by ${use.deviceId} recorded with evidence from ${input.attestation.deviceId}`);
  }
}
