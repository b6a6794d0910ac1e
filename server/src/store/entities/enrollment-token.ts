import type { Actor, EpochMs } from './common.js';

/** An enrollment token as stored: never the token itself, only its SHA-256 (see `hashEnrollmentToken`). */
export interface EnrollmentTokenRecord {
  /** Short numeric id for listing and revoking. */
  readonly id: number;
  readonly label: string | null;
  readonly maxUses: number;
  readonly uses: number;
  readonly expiresAt: EpochMs;
  /** If set, the device enrolled with this token gets this id instead of the EK-derived one. */
  readonly deviceName: string | null;
  readonly createdAt: EpochMs;
  readonly revokedAt: EpochMs | null;
}

export interface NewEnrollmentToken {
  /** `hashEnrollmentToken(token)`: lowercase hex SHA-256. */
  readonly hash: string;
  readonly label?: string | null;
  readonly maxUses: number;
  readonly expiresAt: EpochMs;
  readonly deviceName?: string | null;
  readonly actor: Actor;
}

/** Why a token does not authorise an enrollment. */
export type TokenRejection = 'unknown' | 'expired' | 'used-up' | 'revoked';

export type TokenCheck =
  | { readonly ok: true; readonly token: EnrollmentTokenRecord }
  | { readonly ok: false; readonly reason: TokenRejection };
