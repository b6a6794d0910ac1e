import type { KeyObject } from 'node:crypto';
import { verifyRevocation, type AttestationResult, type RevocationEvent } from '@vigil/protocol';
import type { ConnectFailure } from './server-connection.js';

/** How the agent learned it was revoked. */
export type RevocationSource = 'result' | 'fleet-event' | 'connection-refused';

export interface RevocationNotice {
  readonly source: RevocationSource;
  /** Human-readable, for the log, the status file and the hook's VIGIL_REVOCATION_REASON. */
  readonly reason: string;
}

/**
 * A result on our own topic that says this device is revoked: an error result
 * `device-revoked` (the server refused to appraise evidence from a revoked
 * device), or a verdict whose reasons carry a `revoked` code. A
 * contraindicated verdict alone is not taken as revocation here: the server
 * revokes on it and closes the session, and the agent learns it from that
 * (the refused reconnect) or from the fleet event, not by guessing policy.
 */
export function revocationFromResult(result: AttestationResult): RevocationNotice | undefined {
  if (!result.ok) return result.error === 'device-revoked' ? { source: 'result', reason: `server: ${result.message}` } : undefined;
  for (const appraisal of Object.values(result.verdict.submods)) {
    for (const r of appraisal?.['vigil.reasons'] ?? []) {
      if (/(^|[-.])revoked($|[-.])/.test(r.code)) return { source: 'result', reason: `${r.code}: ${r.message}` };
    }
  }
  return undefined;
}

export type FleetEventJudgement =
  | { readonly kind: 'revoked'; readonly notice: RevocationNotice }
  /** About another device: nothing to do. */
  | { readonly kind: 'other-device' }
  /** About us, but not signed by a key we trust: logged and ignored (anyone who can publish there could forge one). */
  | { readonly kind: 'bad-signature' };

/**
 * A `fleet/revocations` event: it revokes this device only if it names our
 * device id (or the serial of our certificate) and carries a valid signature
 * by one of `trustedKeys` (the fleet CA key or the server's TLS key, both
 * vouched for by the CA the agent verified the server with).
 */
export function judgeFleetEvent(event: RevocationEvent, self: { deviceId: string; serial?: string }, trustedKeys: readonly KeyObject[]): FleetEventJudgement {
  const aboutUs = event.deviceId === self.deviceId || (self.serial !== undefined && event.serials.includes(self.serial));
  if (!aboutUs) return { kind: 'other-device' };
  if (!trustedKeys.some((k) => verifyRevocation(event, k))) return { kind: 'bad-signature' };
  return {
    kind: 'revoked',
    notice: { source: 'fleet-event', reason: `${event.reason}${event.message ? `: ${event.message}` : ''} (signed revocation event at ${new Date(event.revokedAt).toISOString()})` },
  };
}

/**
 * The server refusing an enrolled device's connection: CONNACK 5 (not
 * authorized: our broker's answer to a revoked serial or device id) or a
 * TLS alert about our certificate (a broker that checks its CRL in the
 * handshake). Only counted while our own certificate is within its validity:
 * an expired certificate is refused for that reason, which is not revocation.
 */
export function revocationFromRefusal(failure: ConnectFailure | undefined, certificateCurrentlyValid: boolean): RevocationNotice | undefined {
  if (failure === undefined || !certificateCurrentlyValid) return undefined;
  if (failure.kind === 'connack' && failure.code === 5) return { source: 'connection-refused', reason: `the server refused the connection (CONNACK 5, not authorized)` };
  if (failure.kind === 'tls-alert' && (failure.alert === 'certificate-revoked' || failure.alert === 'access-denied')) {
    return { source: 'connection-refused', reason: `the server refused our certificate in the TLS handshake (${failure.alert})` };
  }
  return undefined;
}
