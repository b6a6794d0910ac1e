import type { RevocationEvent } from '@vigil/protocol';

/**
 * The JSON body POSTed for a revocation: the delivery id (stable across
 * retries, so a receiver can drop duplicates) and the signed fleet event,
 * which a receiver can verify on its own with the server's public key.
 * The whole body is also signed with the webhook secret (`X-Vigil-Signature`).
 */
export function revocationWebhookBody(revocationId: number, event: RevocationEvent): string {
  return JSON.stringify({ type: 'vigil.revocation', id: `revocation:${revocationId}`, event });
}
