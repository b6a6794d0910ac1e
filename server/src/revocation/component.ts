import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ComponentFactory } from '../app/context.js';
import { days } from '../pki/index.js';
import { WebhookOutbox } from '../webhook/notifier.js';
import { CrlPublisher } from './crl-publisher.js';
import { RevocationService, Revocations } from './service.js';

/**
 * The revocation service component: provides `Revocations` and, before
 * anything else can revoke, re-applies the side effects of revocations an
 * earlier run committed but may not have finished. Revocation events are
 * signed with the server's broker TLS key (`server.key`).
 */
export const revocationComponent: ComponentFactory = async (ctx) => {
  const log = ctx.log.child({ component: 'revocation' });
  const signingKey = createPrivateKey(await readFile(ctx.paths.serverKey, 'utf8'));
  const crl = new CrlPublisher({ store: ctx.store, ca: ctx.ca, path: ctx.paths.crl, validityMs: days(ctx.config.pki.crlValidityDays), log });
  const webhook = ctx.services.get(WebhookOutbox);
  const service = new RevocationService({
    store: ctx.store,
    broker: ctx.broker,
    revocations: ctx.revocations,
    crl,
    signingKey,
    ...(webhook !== undefined ? { webhook } : {}),
    metrics: ctx.metrics,
    log,
  });
  await service.applyPending();
  ctx.services.provide(Revocations, service);
  return {
    name: 'revocation',
    async close() {
      ctx.services.withdraw(Revocations);
      await crl.close();
    },
  };
};
