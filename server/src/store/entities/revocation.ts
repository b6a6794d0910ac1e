import type { RevocationReason } from '@vigil/protocol/core';
import type { Actor, EpochMs } from './common.js';
import type { Device, IfLastVerifiedAt } from './device.js';

export interface RevocationRecord {
  readonly id: number;
  readonly deviceId: string;
  readonly reason: RevocationReason;
  readonly message: string | null;
  /** The certificates this revocation revoked (those still valid at the time). */
  readonly serials: readonly string[];
  readonly actor: Actor;
  readonly revokedAt: EpochMs;
  readonly reinstatedAt: EpochMs | null;
  /**
   * When every side effect of the revocation (CRL, broker, fleet event,
   * webhook) was applied; null while some may not have been. The store
   * transaction is the commit point; a server re-applies pending ones at start.
   */
  readonly effectsAppliedAt: EpochMs | null;
}

export interface RevokeDeviceInput {
  readonly deviceId: string;
  readonly reason: RevocationReason;
  readonly message?: string | null;
  readonly actor: Actor;
  /** Only if the device has not been verified since the caller read it; otherwise `verified-since` and nothing changes. */
  readonly ifLastVerifiedAt?: IfLastVerifiedAt;
}

export type RevokeDeviceResult =
  | { readonly ok: true; readonly revocation: RevocationRecord }
  | { readonly ok: false; readonly reason: 'unknown-device' | 'already-revoked' | 'verified-since' };

export interface ReinstateDeviceInput {
  readonly deviceId: string;
  readonly actor: Actor;
  readonly message?: string | null;
}

export type ReinstateDeviceResult =
  | { readonly ok: true; readonly device: Device }
  | { readonly ok: false; readonly reason: 'unknown-device' | 'not-revoked' };
