import { TpmTransportError } from '../errors.js';
import type { Transport } from '../transport.js';
import { RESPONSE_HEADER_SIZE } from './response-reader.js';
import { ByteStream, SerialQueue } from './stream.js';

/**
 * The Microsoft TPM 2.0 simulator's TCP protocol (ms-tpm-20-ref
 * `TpmTcpProtocol.h`), also spoken by IBM's simulator and on swtpm's data
 * port. Two ports: the command port carries TPM commands wrapped as
 *   UINT32 TPM_SEND_COMMAND (8) | UINT8 locality | UINT32 size | command
 * and answers
 *   UINT32 size | response | UINT32 0
 * and the platform port (command port + 1) takes the "hardware" signals:
 * a UINT32 code answered by a UINT32 0.
 */
export const MSSIM = {
  SIGNAL_POWER_ON: 1,
  SIGNAL_POWER_OFF: 2,
  SIGNAL_PHYS_PRES_ON: 3,
  SIGNAL_PHYS_PRES_OFF: 4,
  SEND_COMMAND: 8,
  SIGNAL_CANCEL_ON: 9,
  SIGNAL_CANCEL_OFF: 10,
  SIGNAL_NV_ON: 11,
  SIGNAL_NV_OFF: 12,
  SIGNAL_RESET: 17,
  SESSION_END: 20,
  STOP: 21,
} as const;

export interface MssimTransportOptions {
  readonly host: string;
  /** Command port; the platform port defaults to this + 1. */
  readonly port: number;
  readonly platformPort?: number;
  /** Locality of every command (0..4, default 0). */
  readonly locality?: number;
  readonly timeoutMs?: number;
  readonly maxResponseSize?: number;
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};
const be32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);

export class MssimTransport implements Transport {
  private command: ByteStream | undefined;
  private platform: ByteStream | undefined;
  private readonly queue = new SerialQueue();
  private readonly timeoutMs: number;
  private readonly maxResponseSize: number;
  private readonly locality: number;
  private closed = false;

  constructor(readonly options: MssimTransportOptions) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxResponseSize = options.maxResponseSize ?? 65_536;
    this.locality = options.locality ?? 0;
    if (!Number.isInteger(this.locality) || this.locality < 0 || this.locality > 4) throw new RangeError(`locality must be 0..4, got ${this.locality}`);
  }

  toString(): string {
    return `mssim tcp:${this.options.host}:${this.options.port}`;
  }

  private async commandStream(): Promise<ByteStream> {
    if (this.closed) throw new TpmTransportError(`${this}: transport is closed`);
    if (!this.command || this.command.closed) {
      this.command = await ByteStream.connect({ host: this.options.host, port: this.options.port }, 'mssim command port', this.timeoutMs);
    }
    return this.command;
  }

  send(command: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      const s = await this.commandStream();
      const frame = new Uint8Array(9 + command.length);
      frame.set(u32(MSSIM.SEND_COMMAND), 0);
      frame[4] = this.locality;
      frame.set(u32(command.length), 5);
      frame.set(command, 9);
      s.write(frame);
      const size = be32(await s.read(4, this.timeoutMs));
      if (size < RESPONSE_HEADER_SIZE || size > this.maxResponseSize) {
        await s.close();
        throw new TpmTransportError(`${this}: response size ${size} outside [${RESPONSE_HEADER_SIZE}, ${this.maxResponseSize}]`);
      }
      const response = await s.read(size, this.timeoutMs);
      const ack = be32(await s.read(4, this.timeoutMs));
      if (ack !== 0) {
        await s.close();
        throw new TpmTransportError(`${this}: command acknowledged with ${ack}, not 0`);
      }
      return response;
    });
  }

  /** Sends one platform signal (MSSIM.SIGNAL_*) on the platform port. */
  signal(code: number): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) throw new TpmTransportError(`${this}: transport is closed`);
      if (!this.platform || this.platform.closed) {
        const port = this.options.platformPort ?? this.options.port + 1;
        this.platform = await ByteStream.connect({ host: this.options.host, port }, 'mssim platform port', this.timeoutMs);
      }
      this.platform.write(u32(code));
      const ack = be32(await this.platform.read(4, this.timeoutMs));
      if (ack !== 0) throw new TpmTransportError(`${this}: platform signal ${code} answered ${ack}`);
    });
  }

  /** Power on and NV on, what a freshly started simulator needs before TPM2_Startup. */
  async powerOn(): Promise<void> {
    await this.signal(MSSIM.SIGNAL_POWER_ON);
    await this.signal(MSSIM.SIGNAL_NV_ON);
  }

  /** Power off then on: a TPM reset (the TPM needs TPM2_Startup again). */
  async powerCycle(): Promise<void> {
    await this.signal(MSSIM.SIGNAL_POWER_OFF);
    await this.powerOn();
  }

  /** Tells the simulator the connection ends (TPM_SESSION_END on both ports), then closes. */
  async close(): Promise<void> {
    await this.queue.run(async () => {
      this.closed = true;
      for (const s of [this.command, this.platform]) {
        if (s && !s.closed) {
          try {
            s.write(u32(MSSIM.SESSION_END));
          } catch {
            // already broken: nothing to tell
          }
          await s.close();
        }
      }
      this.command = undefined;
      this.platform = undefined;
    });
  }
}
