import { encodeRevocation, signRevocation, type RevocationEvent } from '@vigil/protocol';
import type { KeyObject } from 'node:crypto';
import type { RevocationRecord } from '../store/index.js';

/**
 * The signed event for a revocation, as published on
 * `vigil/v1/fleet/revocations` and sent in the webhook body: the device,
 * the certificate serials revoked, the reason and message, the time, signed
 * with the server's key (its broker TLS key, whose certificate the fleet CA
 * issued: a relying party verifies the event with the public key of the
 * server certificate it already trusts; see `verifyRevocation`).
 */
export function revocationEvent(record: RevocationRecord, key: KeyObject): RevocationEvent {
  return signRevocation(
    {
      v: 1,
      deviceId: record.deviceId,
      serials: record.serials.slice(0, 32),
      reason: record.reason,
      ...(record.message !== null ? { message: record.message.slice(0, 512) } : {}),
      revokedAt: record.revokedAt,
    },
    key,
  );
}

export { encodeRevocation };
