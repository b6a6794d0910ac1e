/**
 * The webhook dispatcher against a real HTTPS receiver and a real store:
 * signed deliveries, retries with backoff, giving up, a dead receiver, the
 * outbox surviving a restart, and the configuration checks.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { WebhookReceiver } from '../../test/harness/webhook-receiver.js';
import { validateServerConfig } from '../src/config/index.js';
import { dataDir } from '../src/datadir.js';
import { createLogger } from '../src/log.js';
import type { FleetCa } from '../src/pki/index.js';
import { openSqliteStore, type Store, type WebhookDelivery } from '../src/store/index.js';
import { retryDelayMs } from '../src/webhook/backoff.js';
import { WebhookDispatcher, type WebhookSettings } from '../src/webhook/dispatcher.js';
import { webhookSettings } from '../src/webhook/settings.js';
import { signWebhookBody, verifyWebhookSignature } from '../src/webhook/signature.js';

const SECRET = 'a-shared-secret-of-some-length';
const log = createLogger({ level: 'silent' });
let ca: FleetCa;
let receiver: WebhookReceiver;
let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
const dispatchers: WebhookDispatcher[] = [];

function settings(over: Partial<WebhookSettings> = {}): WebhookSettings {
  return { url: new URL(receiver.url), secret: SECRET, ca: ca.certificatePem, timeoutMs: 5000, maxAttempts: 5, initialBackoffMs: 20, maxBackoffMs: 100, ...over };
}

function dispatcher(over: Partial<WebhookSettings> = {}): WebhookDispatcher {
  const d = new WebhookDispatcher(store, settings(over), log);
  dispatchers.push(d);
  return d;
}

/** Polls the outbox until `done` holds for the delivery (no timing is asserted: it only waits). */
async function until(id: number, done: (d: WebhookDelivery) => boolean): Promise<WebhookDelivery> {
  for (;;) {
    const d = (await store.listWebhooks({ limit: 1000 })).find((x) => x.id === id)!;
    if (done(d)) return d;
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  ca = await makeFleetCa();
  receiver = await WebhookReceiver.start(ca);
});
afterAll(async () => {
  await receiver.stop();
});
beforeEach(async () => {
  tmp = await makeTempDir('vigil-webhook-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
});
afterEach(async () => {
  for (const d of dispatchers.splice(0)) await d.close();
  await store.close();
  await tmp.cleanup();
});

describe('deliveries', () => {
  it('POSTs the exact body with an HMAC-SHA256 signature and the event headers, and records it delivered', async () => {
    const body = JSON.stringify({ type: 'vigil.revocation', id: 'revocation:1', event: { deviceId: 'cam-1' } });
    const { delivery } = await store.enqueueWebhook({ eventKey: 'revocation:1', kind: 'revocation', body });
    dispatcher().start();
    const call = await receiver.waitFor((c) => c.headers['x-vigil-delivery'] === 'revocation:1');
    expect(call.body).toBe(body);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-vigil-event']).toBe('revocation');
    expect(call.headers['x-vigil-signature']).toBe(signWebhookBody(SECRET, body));
    expect(verifyWebhookSignature(SECRET, call.body, call.headers['x-vigil-signature'] as string)).toBe(true);
    const done = await until(delivery.id, (d) => d.deliveredAt !== null);
    expect(done).toMatchObject({ attempts: 1, lastError: null, failedAt: null });
  });

  it('retries a receiver that fails, with growing waits, until it answers 2xx', async () => {
    receiver.respondWith(503, 500);
    const { delivery } = await store.enqueueWebhook({ eventKey: 'revocation:2', kind: 'revocation', body: '{"n":2}' });
    dispatcher().start();
    const done = await until(delivery.id, (d) => d.deliveredAt !== null);
    expect(done.attempts).toBe(3);
    expect(receiver.calls.filter((c) => c.headers['x-vigil-delivery'] === 'revocation:2').map((c) => c.status)).toEqual([503, 500, 200]);
  });

  it('gives up after maxAttempts, recorded and audited', async () => {
    receiver.respondWith(500, 500);
    const { delivery } = await store.enqueueWebhook({ eventKey: 'revocation:3', kind: 'revocation', body: '{"n":3}' });
    dispatcher({ maxAttempts: 2 }).start();
    const failed = await until(delivery.id, (d) => d.failedAt !== null);
    expect(failed).toMatchObject({ attempts: 2, deliveredAt: null });
    expect(failed.lastError).toContain('HTTP 500');
    expect((await store.listAudit()).at(-1)).toMatchObject({ action: 'webhook.failed', subject: `webhook:${delivery.id}` });
  });

  it('a receiver that is not there is retried with the network error recorded', async () => {
    const port = await closedPort();
    const { delivery } = await store.enqueueWebhook({ eventKey: 'revocation:4', kind: 'revocation', body: '{}' });
    dispatcher({ url: new URL(`https://localhost:${port}/x`), maxAttempts: 1000 }).start();
    const retried = await until(delivery.id, (d) => d.attempts >= 1);
    expect(retried.deliveredAt).toBeNull();
    expect(retried.lastError).toMatch(/ECONNREFUSED/);
  });

  it('a receiver whose certificate is not trusted is not delivered to', async () => {
    const other = await makeFleetCa('Another CA');
    const { delivery } = await store.enqueueWebhook({ eventKey: 'revocation:5', kind: 'revocation', body: '{}' });
    dispatcher({ ca: other.certificatePem, maxAttempts: 1 }).start();
    const failed = await until(delivery.id, (d) => d.failedAt !== null);
    expect(failed.lastError).toMatch(/certificate/i);
    expect(receiver.calls.some((c) => c.headers['x-vigil-delivery'] === 'revocation:5')).toBe(false);
  });

  it('the outbox survives a restart: what was enqueued while no dispatcher ran is delivered by the next one', async () => {
    const first = dispatcher();
    await first.close();
    const { delivery } = await store.enqueueWebhook({ eventKey: 'revocation:6', kind: 'revocation', body: '{"n":6}' });
    await store.close();
    store = await openSqliteStore(join(tmp.path, 'vigil.db'));
    dispatcher().start();
    await receiver.waitFor((c) => c.headers['x-vigil-delivery'] === 'revocation:6');
    expect((await until(delivery.id, (d) => d.deliveredAt !== null)).attempts).toBe(1);
  });
});

describe('signatures and backoff', () => {
  it('a signature fails for another secret, another body, or none', () => {
    const body = '{"a":1}';
    const sig = signWebhookBody(SECRET, body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, body, sig)).toBe(true);
    expect(verifyWebhookSignature('another secret entirely', body, sig)).toBe(false);
    expect(verifyWebhookSignature(SECRET, '{"a":2}', sig)).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, undefined)).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, 'sha256=00')).toBe(false);
  });

  it('property: the wait grows with the attempt, between half and all of initial·2^(n-1), never beyond the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 3_600_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, initial, max, r) => {
        const exp = Math.min(max, initial * 2 ** (n - 1));
        const wait = retryDelayMs(n, initial, max, () => r);
        expect(wait).toBeGreaterThanOrEqual(Math.floor(exp / 2));
        expect(wait).toBeLessThanOrEqual(Math.ceil(exp));
      }),
    );
  });
});

describe('configuration', () => {
  const paths = dataDir('/nonexistent/vigil');
  const config = (webhook: Record<string, unknown>) => validateServerConfig({ webhook }, 'test');

  it('no url: no webhook; an https url with a long enough secret: ready', async () => {
    expect(await webhookSettings(config({}), paths)).toBeUndefined();
    const s = await webhookSettings(config({ url: 'https://hooks.example/vigil', secret: SECRET, maxAttempts: 3, initialBackoffSeconds: 2 }), paths);
    expect(s).toMatchObject({ secret: SECRET, maxAttempts: 3, initialBackoffMs: 2000, timeoutMs: 10_000 });
    expect(s?.url.href).toBe('https://hooks.example/vigil');
  });

  it('refuses plain http unless allowed, a short secret, and what is not a URL, naming the key', async () => {
    await expect(webhookSettings(config({ url: 'http://hooks.example/', secret: SECRET }), paths)).rejects.toMatchObject({ path: 'webhook.url' });
    expect(await webhookSettings(config({ url: 'http://127.0.0.1:9/', secret: SECRET, allowPlainHttp: true }), paths)).toBeDefined();
    await expect(webhookSettings(config({ url: 'https://hooks.example/', secret: 'short' }), paths)).rejects.toMatchObject({ path: 'webhook.secret' });
    await expect(webhookSettings(config({ url: 'not a url', secret: SECRET }), paths)).rejects.toMatchObject({ path: 'webhook.url' });
    await expect(webhookSettings(config({ url: 'ftp://hooks.example/', secret: SECRET }), paths)).rejects.toMatchObject({ path: 'webhook.url' });
  });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
