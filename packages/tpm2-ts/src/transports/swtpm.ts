import { TpmTransportError } from '../errors.js';
import type { Transport } from '../transport.js';
import { ByteStream, describeAddress, SerialQueue, type SocketAddress } from './stream.js';
import { readTpmResponse } from './response-reader.js';

export type { SocketAddress } from './stream.js';

export interface SwtpmTransportOptions {
  /** How long one command may take, connect included (default 60 s: RSA key generation on a slow swtpm). */
  readonly timeoutMs?: number;
  /** Largest response accepted (default 64 KiB; swtpm's default buffer is 4 KiB). */
  readonly maxResponseSize?: number;
}

/**
 * swtpm's data channel (`swtpm socket --server type=unixio|tcp`): raw TPM
 * command bytes in, raw response bytes out, one command at a time on one
 * stream. The response length comes from its header (Part 1 §18.2: the
 * UINT32 at bytes 2..5). swtpm serves one data connection at a time, so a
 * second client waits until the first disconnects.
 *
 * A broken connection fails the command in flight with a TpmTransportError;
 * the next command reconnects (swtpm keeps running across client
 * disconnects, and `restart()` in the test harness brings it back on the same
 * address).
 */
export class SwtpmTransport implements Transport {
  private stream: ByteStream | undefined;
  private readonly queue = new SerialQueue();
  private readonly timeoutMs: number;
  private readonly maxResponseSize: number;
  private closed = false;

  constructor(
    readonly address: SocketAddress,
    options: SwtpmTransportOptions | number = {},
  ) {
    const o = typeof options === 'number' ? { timeoutMs: options } : options;
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.maxResponseSize = o.maxResponseSize ?? 65_536;
  }

  toString(): string {
    return `swtpm ${describeAddress(this.address)}`;
  }

  send(command: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      if (this.closed) throw new TpmTransportError(`${this}: transport is closed`);
      if (!this.stream || this.stream.closed) this.stream = await ByteStream.connect(this.address, 'swtpm', this.timeoutMs);
      const s = this.stream;
      if (s.unread > 0) {
        await s.close();
        throw new TpmTransportError(`${this}: ${s.unread} unsolicited byte(s) arrived between commands`);
      }
      s.write(command);
      return readTpmResponse(s, this.timeoutMs, this.maxResponseSize);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.idle();
    await this.stream?.close();
    this.stream = undefined;
  }
}
