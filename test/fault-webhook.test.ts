/**
 * Issue 9, a slow or dead webhook endpoint never delays revocation. The
 * endpoint here accepts the connection, reads the request and then does not
 * answer at all (dead), or answers only when the test lets it (slow). A
 * contraindicated device is disconnected, refused on reconnect and
 * announced on the fleet topic while the webhook call hangs; the call is
 * retried and delivered once the endpoint answers again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../server/src/webhook/index.js';
import { closed, connectClient } from './harness/broker.js';
import { delay, SimDevice, startSimServer, type SimServer } from './harness/sim-fleet.js';
import { connectSimDevice } from './harness/sim-devices.js';

const SECRET = 'fault-webhook-secret-0123456789';

/** An HTTP endpoint that holds every request open until `answer()` (or for ever). */
class StallingEndpoint {
  readonly held: Array<{ body: string; headers: IncomingMessage['headers']; res: ServerResponse }> = [];
  readonly answered: string[] = [];
  #answering = false;

  private constructor(readonly server: Server) {}

  static async start(): Promise<StallingEndpoint> {
    let endpoint: StallingEndpoint | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => endpoint!.#take(Buffer.concat(chunks).toString('utf8'), req.headers, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = new StallingEndpoint(server);
    return endpoint;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** From now on, answer 200 at once. */
  answer(): void {
    this.#answering = true;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #take(body: string, headers: IncomingMessage['headers'], res: ServerResponse): void {
    if (this.#answering) {
      this.answered.push(body);
      res.writeHead(200).end('ok');
    } else {
      this.held.push({ body, headers, res });
    }
  }
}

let endpoint: StallingEndpoint;
let env: SimServer;
const devices: SimDevice[] = [];

beforeAll(async () => {
  endpoint = await StallingEndpoint.start();
  env = await startSimServer({
    overrides: [
      { path: 'attestation.intervalSeconds', value: 3600, flag: 'test' },
      { path: 'webhook.url', value: endpoint.url, flag: 'test' },
      { path: 'webhook.allowPlainHttp', value: true, flag: 'test' },
      { path: 'webhook.secret', value: SECRET, flag: 'test' },
      // Much longer than the test waits for the revocation: a call in progress would show.
      { path: 'webhook.timeoutSeconds', value: 120, flag: 'test' },
      { path: 'webhook.initialBackoffSeconds', value: 0.2, flag: 'test' },
      { path: 'webhook.maxBackoffSeconds', value: 0.5, flag: 'test' },
    ],
  });
});

afterAll(async () => {
  for (const d of devices) d.close();
  await endpoint?.stop();
  await env?.stop();
});

async function contraindicate(): Promise<SimDevice> {
  const d = await connectSimDevice(env, 'hook', devices);
  const result = await d.attest((p) => {
    p.attest = { ...p.attest, extraData: new Uint8Array(32) };
  });
  expect(result.ok && result.verdict.submods.identity?.['ear.status']).toBe('contraindicated');
  return d;
}

it('a dead endpoint: the device is cut off, refused and announced while the call hangs; the call is delivered once the endpoint answers', async () => {
  const watcher = await connectSimDevice(env, 'watcher', devices);
  const first = await contraindicate();
  // Revocation, all the way: live session closed, the fleet event out, reconnection refused.
  await closed(first.client!);
  const event = await watcher.revocations.take((e) => e.deviceId === first.deviceId);
  expect(event.reason).toBe('contraindicated');
  const again = await connectClient(env.port, env.ca.certificatePem, { certPem: first.identity.certPem, keyPem: first.identity.keyPem }, { clientId: first.deviceId });
  expect(again.kind).not.toBe('connected');
  // ...and the webhook call reached the endpoint and is still waiting for an answer.
  while (!endpoint.held.some((h) => h.body.includes(first.deviceId))) await delay(20);
  const call = endpoint.held.find((h) => h.body.includes(first.deviceId))!;
  expect(call.res.writableEnded).toBe(false);
  expect(verifyWebhookSignature(SECRET, call.body, call.headers['x-vigil-signature'] as string)).toBe(true);

  // A second device revoked while the first call still hangs: just as immediate.
  const second = await contraindicate();
  await closed(second.client!);
  await watcher.revocations.take((e) => e.deviceId === second.deviceId);
  expect((await env.store.getDevice(second.deviceId))?.revoked).toBe(true);
  // The first call still hangs: nothing on the revocation path waited for it.
  expect(call.res.writableEnded).toBe(false);

  // The endpoint comes back: the hung calls fail (connection reset) and are retried; both are delivered.
  endpoint.answer();
  for (const h of endpoint.held.splice(0)) h.res.destroy();
  for (const id of [first.deviceId, second.deviceId]) {
    while (!endpoint.answered.some((b) => b.includes(id))) await delay(50);
  }
  let delivered = (await env.store.listWebhooks()).filter((w) => w.deliveredAt !== null);
  while (delivered.length < 2) {
    await delay(50);
    delivered = (await env.store.listWebhooks()).filter((w) => w.deliveredAt !== null);
  }
  // The call that hung was retried; the one queued behind it went out once the endpoint answered.
  expect(delivered.find((w) => w.body.includes(first.deviceId))!.attempts).toBeGreaterThanOrEqual(2);
}, 60_000);
