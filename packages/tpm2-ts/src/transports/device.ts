import { type FileHandle, open } from 'node:fs/promises';
import { TpmTransportError } from '../errors.js';
import type { Transport } from '../transport.js';
import { RESPONSE_HEADER_SIZE } from './response-reader.js';
import { SerialQueue } from './stream.js';

export interface DeviceTransportOptions {
  readonly timeoutMs?: number;
  /** Read buffer and largest response accepted (default 64 KiB; the kernel's TPM_BUFSIZE is 4 KiB). */
  readonly maxResponseSize?: number;
}

/**
 * A TPM character device: `/dev/tpmrm0` (the kernel resource manager, which
 * isolates our handles from other processes) or `/dev/tpm0` (raw, exclusive).
 * The kernel protocol is one write() of a whole command, then read()s of the
 * whole response (drivers/char/tpm/tpm-dev-common.c). We read into a buffer of
 * the maximum response size and keep reading until the header's size has
 * arrived, so the same code also works over a byte stream standing in for the
 * device (a FIFO pair in the tests).
 *
 * Commands are serialised. A timeout rejects the command but cannot abort a
 * read already in the kernel; the file is closed so the read returns.
 */
export class DeviceTransport implements Transport {
  private handles: { reader: FileHandle; writer: FileHandle } | undefined;
  private readonly queue = new SerialQueue();
  private readonly timeoutMs: number;
  private readonly maxResponseSize: number;
  private closed = false;

  /** `path`: the device, opened read-write; or separate read and write paths (a FIFO pair standing in for a device). */
  constructor(
    readonly path: string | { readonly read: string; readonly write: string },
    options: DeviceTransportOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxResponseSize = options.maxResponseSize ?? 65_536;
  }

  toString(): string {
    return typeof this.path === 'string' ? `device ${this.path}` : `device write:${this.path.write} read:${this.path.read}`;
  }

  private async open(): Promise<{ reader: FileHandle; writer: FileHandle }> {
    if (this.handles) return this.handles;
    try {
      if (typeof this.path === 'string') {
        const fh = await open(this.path, 'r+');
        this.handles = { reader: fh, writer: fh };
      } else {
        // Opening a FIFO blocks until its other end is opened: open both at once.
        const [writer, reader] = await Promise.all([open(this.path.write, 'w'), open(this.path.read, 'r')]);
        this.handles = { reader, writer };
      }
    } catch (e) {
      throw new TpmTransportError(`cannot open ${this}: ${(e as Error).message}`, { cause: e });
    }
    return this.handles;
  }

  send(command: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      if (this.closed) throw new TpmTransportError(`${this}: transport is closed`);
      const h = await this.open();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void this.dropHandles();
          reject(new TpmTransportError(`${this}: no answer within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
      });
      try {
        return await Promise.race([this.exchange(h, command), timeout]);
      } catch (e) {
        await this.dropHandles();
        if (e instanceof TpmTransportError) throw e;
        throw new TpmTransportError(`${this}: ${(e as Error).message}`, { cause: e });
      } finally {
        clearTimeout(timer);
      }
    });
  }

  private async exchange(h: { reader: FileHandle; writer: FileHandle }, command: Uint8Array): Promise<Uint8Array> {
    const w = await h.writer.write(command, 0, command.length, null);
    if (w.bytesWritten !== command.length) throw new TpmTransportError(`${this}: wrote ${w.bytesWritten} of ${command.length} command bytes`);
    const buf = new Uint8Array(this.maxResponseSize);
    let got = 0;
    let size = 0;
    for (;;) {
      const r = await h.reader.read(buf, got, buf.length - got, null);
      if (r.bytesRead === 0) throw new TpmTransportError(`${this}: end of file after ${got} response bytes`);
      got += r.bytesRead;
      if (size === 0 && got >= RESPONSE_HEADER_SIZE) {
        size = new DataView(buf.buffer).getUint32(2);
        if (size < RESPONSE_HEADER_SIZE || size > this.maxResponseSize) {
          throw new TpmTransportError(`${this}: response header gives size ${size}, outside [${RESPONSE_HEADER_SIZE}, ${this.maxResponseSize}]`);
        }
      }
      if (size !== 0 && got >= size) {
        if (got > size) throw new TpmTransportError(`${this}: ${got - size} byte(s) beyond the ${size} its response header announced`);
        return buf.slice(0, size);
      }
    }
  }

  private async dropHandles(): Promise<void> {
    const h = this.handles;
    this.handles = undefined;
    if (!h) return;
    await h.reader.close().catch(() => undefined);
    if (h.writer !== h.reader) await h.writer.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.idle();
    await this.dropHandles();
  }
}
