import type { ComponentFactory } from '../app/context.js';
import { WebhookDispatcher } from './dispatcher.js';
import { DISABLED_WEBHOOK, WebhookOutbox } from './notifier.js';
import { webhookSettings } from './settings.js';

/**
 * The webhook dispatcher component: provides `WebhookOutbox` (disabled when
 * no `webhook.url` is configured) and delivers the outbox, starting with
 * whatever an earlier run left undelivered.
 */
export const webhookComponent: ComponentFactory = async (ctx) => {
  const settings = await webhookSettings(ctx.config, ctx.paths);
  if (settings === undefined) {
    ctx.services.provide(WebhookOutbox, DISABLED_WEBHOOK);
    return { name: 'webhook', close: async () => ctx.services.withdraw(WebhookOutbox) };
  }
  const dispatcher = new WebhookDispatcher(ctx.store, settings, ctx.log.child({ component: 'webhook' }));
  ctx.services.provide(WebhookOutbox, dispatcher);
  dispatcher.start();
  ctx.log.info({ webhook: settings.url.origin }, 'webhook dispatcher started');
  return {
    name: 'webhook',
    async close() {
      ctx.services.withdraw(WebhookOutbox);
      await dispatcher.close();
    },
  };
};
