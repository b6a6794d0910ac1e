import { connect, type Socket } from 'node:net';
import { TpmTransportError } from '../errors.js';
import type { Transport } from '../transport.js';

export type SocketAddress = { readonly path: string } | { readonly host: string; readonly port: number };

/**
 * swtpm's data channel (`swtpm socket --server type=unixio|tcp`): raw TPM
 * command bytes in, raw response bytes out, one at a time on one stream.
 * The response length comes from its header (Part 1 §18.2: bytes 2..5).
 */
export class SwtpmTransport implements Transport {
  private socket: Socket | undefined;
  private pending: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | undefined;
  private chunks: Buffer[] = [];
  private received = 0;

  constructor(
    private readonly address: SocketAddress,
    private readonly timeoutMs = 60_000,
  ) {}

  private describe(): string {
    return 'path' in this.address ? `unix:${this.address.path}` : `tcp:${this.address.host}:${this.address.port}`;
  }

  private open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const s = 'path' in this.address ? connect(this.address.path) : connect(this.address.port, this.address.host);
      s.setNoDelay(true);
      const onError = (e: Error): void => reject(new TpmTransportError(`cannot connect to swtpm at ${this.describe()}: ${e.message}`, { cause: e }));
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        s.on('data', (d: Buffer) => this.onData(d));
        s.on('error', (e) => this.failPending(new TpmTransportError(`swtpm connection error: ${e.message}`, { cause: e })));
        s.on('close', () => this.failPending(new TpmTransportError(`swtpm at ${this.describe()} closed the connection`)));
        this.socket = s;
        resolve(s);
      });
    });
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.received += d.length;
    if (this.received < 10) return;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [all];
    const size = all.readUInt32BE(2);
    if (size < 10) return this.failPending(new TpmTransportError(`swtpm sent a response header with size ${size}`));
    if (this.received < size) return;
    if (this.received > size) return this.failPending(new TpmTransportError('swtpm sent more bytes than its response header says'));
    const p = this.pending;
    this.pending = undefined;
    this.chunks = [];
    this.received = 0;
    p?.resolve(new Uint8Array(all.subarray(0, size)));
  }

  private failPending(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.chunks = [];
    this.received = 0;
    this.socket?.destroy();
    this.socket = undefined;
    p?.reject(e);
  }

  async send(command: Uint8Array): Promise<Uint8Array> {
    if (this.pending) throw new TpmTransportError('a command is already in flight on this transport');
    const s = await this.open();
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => this.failPending(new TpmTransportError(`swtpm did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending = {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      s.write(command);
    });
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}
