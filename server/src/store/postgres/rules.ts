import type { EpochMs } from '../entities/common.js';
import type { NewDeviceLogState } from '../entities/device-log-state.js';
import type { TokenCheck } from '../entities/enrollment-token.js';
import { StoreError } from '../errors.js';
import { toToken, type AdminCredentialRow, type DeviceLogStateRow, type TokenRow } from '../sqlite/rows.js';
import { checkDeviceId, checkSha256Hex } from '../validate.js';

/*
 * Decisions the PostgreSQL store makes exactly as the SQLite one does
 * (`../sqlite/sqlite-store.ts` keeps its own copies, private to it). Kept
 * small and pure so that the contract suite (`server/test/store-suite.ts`)
 * pins both to the same behaviour.
 */

/** Why a token does or does not authorise an enrollment at `now`, in the documented order. */
export function judgeToken(row: TokenRow | undefined, now: EpochMs): TokenCheck {
  if (row === undefined) return { ok: false, reason: 'unknown' };
  if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
  if (row.expires_at <= now) return { ok: false, reason: 'expired' };
  if (row.uses >= row.max_uses) return { ok: false, reason: 'used-up' };
  return { ok: true, token: toToken(row) };
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

/** How many boot event logs are kept per device (the current one and the one before), as in SQLite. */
export const BOOT_LOGS_KEPT = 2;
