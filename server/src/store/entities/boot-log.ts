import type { EpochMs } from './common.js';

/**
 * A device's boot event log as last received, named by the SHA-256 of its
 * raw bytes, so the device can send "unchanged" instead of the whole log.
 */
export interface StoredBootLog {
  readonly deviceId: string;
  readonly digest: string;
  readonly data: Uint8Array;
  readonly storedAt: EpochMs;
}
