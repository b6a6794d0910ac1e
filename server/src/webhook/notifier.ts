import { serviceKey } from '../app/services.js';

/** What the rest of the server sees of the webhook dispatcher: whether it is on, and a way to wake it. */
export interface WebhookNotifier {
  /** False when no webhook is configured: nothing should be enqueued. */
  readonly enabled: boolean;
  /** Something new is in the outbox. */
  wake(): void;
}

/** The webhook dispatcher in the server's service directory. */
export const WebhookOutbox = serviceKey<WebhookNotifier>('webhook.outbox');

export const DISABLED_WEBHOOK: WebhookNotifier = { enabled: false, wake: () => undefined };
