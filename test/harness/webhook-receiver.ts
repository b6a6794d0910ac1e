/**
 * A webhook receiver for tests: a real HTTPS server on 127.0.0.1, a free
 * port, with a certificate for `localhost` from the given CA. It records
 * every request (headers and the exact body bytes) and answers with the
 * statuses it is told to, in order (then 200).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FleetCa } from '@vigil/server';

export interface ReceivedCall {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly status: number;
}

export class WebhookReceiver {
  readonly calls: ReceivedCall[] = [];
  readonly #statuses: number[] = [];
  readonly #waiters: Array<{ match: (c: ReceivedCall) => boolean; resolve: (c: ReceivedCall) => void }> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(ca: FleetCa): Promise<WebhookReceiver> {
    // PEM from the generating job itself: exporting its KeyObject can deadlock in Node 20 (generateKeyPair in tpm2-ts).
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const cert = ca.issueServerCertificate({ publicKey: privateKey, sans: ['localhost'], validityMs: 3_600_000 });
    let receiver: WebhookReceiver | undefined;
    const server = createServer({ key: privateKey, cert: cert.pem, minVersion: 'TLSv1.3' }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => receiver!.record(req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new WebhookReceiver(server, `https://localhost:${(server.address() as AddressInfo).port}/hooks/vigil`);
    return receiver;
  }

  /** The next requests get these statuses, in order. */
  respondWith(...statuses: number[]): void {
    this.#statuses.push(...statuses);
  }

  /** The first call (received or future) that matches. */
  waitFor(match: (c: ReceivedCall) => boolean): Promise<ReceivedCall> {
    const found = this.calls.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(headers: ReceivedCall['headers'], body: string, res: import('node:http').ServerResponse): void {
    const status = this.#statuses.shift() ?? 200;
    const call = { headers, body, status };
    this.calls.push(call);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.match(call)) {
        this.#waiters.splice(i, 1);
        w.resolve(call);
      }
    }
  }
}
