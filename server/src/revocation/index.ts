/**
 * Revocation (see README.md): one `revoke` for the pipeline, the admin
 * command and staleness; reinstatement; re-applying pending side effects.
 */
export { revocationComponent } from './component.js';
export { RevocationService, Revocations, type RevokeOutcome, type ReinstateOutcome, type RevocationListener } from './service.js';
export { CrlPublisher } from './crl-publisher.js';
export { revocationEvent } from './revocation-event.js';
export { revocationWebhookBody } from './webhook-body.js';
