import { connect, type Socket } from 'node:net';
import { TpmTransportError } from '../errors.js';

/** Where a socket-based TPM endpoint listens: a Unix socket path or a TCP host and port. */
export type SocketAddress = { readonly path: string } | { readonly host: string; readonly port: number };

export function describeAddress(a: SocketAddress): string {
  return 'path' in a ? `unix:${a.path}` : `tcp:${a.host}:${a.port}`;
}

interface PendingRead {
  readonly size: number;
  readonly resolve: (b: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

/**
 * A connected byte stream with exact-length reads, the one primitive every
 * socket framing here needs (swtpm data and control channels, the mssim
 * command and platform ports). It never buffers more than the peer sent,
 * never allocates from a length the peer chose before the bytes arrive, and
 * turns every failure (connect error, peer closing, timeout) into a
 * `TpmTransportError` for the pending read, so no caller waits forever.
 */
export class ByteStream {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: PendingRead | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly label: string,
  ) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      this.drain();
    });
    socket.on('error', (e) => this.fail(new TpmTransportError(`${label}: connection error: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new TpmTransportError(`${label}: the peer closed the connection`)));
  }

  /** Connects, failing with a TpmTransportError after `timeoutMs`. */
  static connect(address: SocketAddress, label: string, timeoutMs: number): Promise<ByteStream> {
    const where = `${label} at ${describeAddress(address)}`;
    return new Promise((resolve, reject) => {
      const s = 'path' in address ? connect(address.path) : connect(address.port, address.host);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new TpmTransportError(`cannot connect to ${where}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (e: Error): void => {
        clearTimeout(timer);
        reject(new TpmTransportError(`cannot connect to ${where}: ${e.message}`, { cause: e }));
      };
      s.once('error', onError);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        if ('port' in address) s.setNoDelay(true);
        resolve(new ByteStream(s, where));
      });
    });
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  write(bytes: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.socket.write(bytes);
  }

  /** Reads exactly `size` bytes; rejects after `timeoutMs` (the stream is then unusable: framing is lost). */
  read(size: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new TpmTransportError(`${this.label}: a read is already pending`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new TpmTransportError(`${this.label}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending = {
        size,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.drain();
    });
  }

  /** Bytes that arrived but nobody asked for (a peer sending more than its frame said). */
  get unread(): number {
    return this.buffered;
  }

  private drain(): void {
    const p = this.pending;
    if (!p || this.buffered < p.size) return;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = new Uint8Array(all.subarray(0, p.size));
    const rest = all.subarray(p.size);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.pending = undefined;
    p.resolve(out);
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    this.socket.destroy();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(this.failure);
  }

  /** Closes the connection; a pending read fails with a TpmTransportError. */
  close(): Promise<void> {
    if (this.socket.closed) {
      this.fail(new TpmTransportError(`${this.label}: closed`));
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.fail(new TpmTransportError(`${this.label}: closed`));
    });
  }
}

/** Runs async jobs one at a time, in order; a failed job does not block the next. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every queued job has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
