/**
 * Signed webhook calls for revocations (see README.md): the outbox
 * dispatcher and the signature scheme receivers verify.
 */
export { webhookComponent } from './component.js';
export { WebhookDispatcher, type WebhookSettings } from './dispatcher.js';
export { WebhookOutbox, type WebhookNotifier } from './notifier.js';
export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature } from './signature.js';
export { retryDelayMs } from './backoff.js';
