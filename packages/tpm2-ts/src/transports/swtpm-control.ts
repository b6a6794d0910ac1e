import { TpmTransportError } from '../errors.js';
import { ByteStream, describeAddress, SerialQueue, type SocketAddress } from './stream.js';

/**
 * swtpm control channel commands (swtpm's `tpm_ioctl.h`, "Commands used by
 * the non-CUSE TPMs"): a big-endian UINT32 command code, then the request
 * part of the matching `ptm_*` structure; the answer is the response part,
 * starting with a UINT32 result (TPM 1.2 style, 0 = success) except for
 * CMD_GET_CAPABILITY.
 */
export const SWTPM_CMD = {
  GET_CAPABILITY: 0x01,
  INIT: 0x02,
  SHUTDOWN: 0x03,
  GET_TPMESTABLISHED: 0x04,
  SET_LOCALITY: 0x05,
  HASH_START: 0x06,
  HASH_DATA: 0x07,
  HASH_END: 0x08,
  CANCEL_TPM_CMD: 0x09,
  STORE_VOLATILE: 0x0a,
  RESET_TPMESTABLISHED: 0x0b,
  GET_STATEBLOB: 0x0c,
  SET_STATEBLOB: 0x0d,
  STOP: 0x0e,
  GET_CONFIG: 0x0f,
  SET_DATAFD: 0x10,
  SET_BUFFERSIZE: 0x11,
  GET_INFO: 0x12,
} as const;

/** PTM_CAP_* bits of CMD_GET_CAPABILITY's answer. */
export const SWTPM_CAP = {
  INIT: 1 << 0,
  SHUTDOWN: 1 << 1,
  GET_TPMESTABLISHED: 1 << 2,
  SET_LOCALITY: 1 << 3,
  HASHING: 1 << 4,
  CANCEL_TPM_CMD: 1 << 5,
  STORE_VOLATILE: 1 << 6,
  RESET_TPMESTABLISHED: 1 << 7,
  GET_STATEBLOB: 1 << 8,
  SET_STATEBLOB: 1 << 9,
  STOP: 1 << 10,
  GET_CONFIG: 1 << 11,
  SET_DATAFD: 1 << 12,
  SET_BUFFERSIZE: 1 << 13,
  GET_INFO: 1 << 14,
} as const;

/** CMD_INIT flag: delete the volatile state file after reading it. */
export const PTM_INIT_FLAG_DELETE_VOLATILE = 1;

/** CMD_GET_INFO flags (TPMLIB_INFO_*). */
export const SWTPM_INFO = { TPM_SPECIFICATION: 1, TPM_ATTRIBUTES: 2 } as const;

/** The swtpm control channel answered a command with a non-zero result. */
export class SwtpmControlError extends Error {
  constructor(
    readonly command: string,
    /** TPM 1.2 style result: 3 TPM_BAD_PARAMETER, 9 TPM_FAIL, 10 TPM_BAD_ORDINAL (also "TPM not running"). */
    readonly result: number,
  ) {
    super(`swtpm control ${command} failed with result 0x${result.toString(16)}`);
    this.name = 'SwtpmControlError';
  }
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

const be32 = (b: Uint8Array, at = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);

/**
 * A client for swtpm's control channel (`--ctrl type=unixio|tcp`), the
 * out-of-band interface a hypervisor uses to power the TPM on and off. Tests
 * use it to power-cycle the TPM (`init()` is a TPM_Init: the TPM then needs
 * TPM2_Startup like after a reboot), and to cancel commands or stop swtpm.
 * Each request is written in one piece because swtpm reads one request per
 * receive.
 */
export class SwtpmControl {
  private stream: ByteStream | undefined;
  private readonly queue = new SerialQueue();

  constructor(
    readonly address: SocketAddress,
    private readonly timeoutMs = 10_000,
  ) {}

  toString(): string {
    return `swtpm control ${describeAddress(this.address)}`;
  }

  /** PTM_CAP_* bits of the commands this swtpm supports. */
  async capabilities(): Promise<bigint> {
    const r = await this.call('GET_CAPABILITY', SWTPM_CMD.GET_CAPABILITY, new Uint8Array(0), async (s, first) => {
      const low = await s.read(4, this.timeoutMs);
      return (BigInt(first) << 32n) | BigInt(be32(low));
    }, false);
    return r;
  }

  /**
   * TPM_Init: terminates the running TPM and starts it again from its
   * persistent state, like a power cycle. Volatile state (PCRs, loaded
   * objects, sessions) is lost; the TPM needs TPM2_Startup next.
   */
  init(flags = 0): Promise<void> {
    return this.simple('INIT', SWTPM_CMD.INIT, u32(flags));
  }

  /** Stops the TPM without ending swtpm; `init()` starts it again. */
  stop(): Promise<void> {
    return this.simple('STOP', SWTPM_CMD.STOP);
  }

  /** Ends the swtpm process (after this, the control connection closes). */
  shutdown(): Promise<void> {
    return this.simple('SHUTDOWN', SWTPM_CMD.SHUTDOWN);
  }

  /** Asks the TPM to cancel the command it is executing (TPM_RC_CANCELED if it could). */
  cancel(): Promise<void> {
    return this.simple('CANCEL_TPM_CMD', SWTPM_CMD.CANCEL_TPM_CMD);
  }

  /** Writes the TPM's volatile state to its state directory. */
  storeVolatile(): Promise<void> {
    return this.simple('STORE_VOLATILE', SWTPM_CMD.STORE_VOLATILE);
  }

  /** Sets the locality of subsequent TPM commands (0..4; swtpm must allow it). */
  setLocality(locality: number): Promise<void> {
    if (!Number.isInteger(locality) || locality < 0 || locality > 4) throw new RangeError(`locality must be 0..4, got ${locality}`);
    return this.simple('SET_LOCALITY', SWTPM_CMD.SET_LOCALITY, Uint8Array.of(locality));
  }

  /** The tpmEstablished bit (set by the dynamic root of trust's hash sequence). */
  tpmEstablished(): Promise<boolean> {
    // ptm_est's response is { UINT32 result; UINT8 bit; } padded to 8 bytes.
    return this.call('GET_TPMESTABLISHED', SWTPM_CMD.GET_TPMESTABLISHED, new Uint8Array(0), async (s) => {
      const rest = await s.read(4, this.timeoutMs);
      return rest[0] !== 0;
    });
  }

  /** libtpms information as JSON text (`SWTPM_INFO.TPM_SPECIFICATION` or `TPM_ATTRIBUTES`). */
  info(flags: number): Promise<string> {
    // ptm_getinfo request: UINT64 flags, UINT32 offset, UINT32 pad; response:
    // result, totlength, length, then `length` bytes of a NUL-terminated string.
    const req = cat(u32(0), u32(flags), u32(0), u32(0));
    return this.call('GET_INFO', SWTPM_CMD.GET_INFO, req, async (s) => {
      const lens = await s.read(8, this.timeoutMs);
      const length = be32(lens, 4);
      if (length > 3 * 1024) throw new TpmTransportError(`${this}: GET_INFO length ${length} exceeds PTM_GETINFO_SIZE`);
      const text = await s.read(length, this.timeoutMs);
      const end = text.indexOf(0);
      return Buffer.from(text.subarray(0, end < 0 ? text.length : end)).toString('utf8');
    });
  }

  async close(): Promise<void> {
    await this.queue.idle();
    await this.stream?.close();
    this.stream = undefined;
  }

  private simple(name: string, code: number, body: Uint8Array = new Uint8Array(0)): Promise<void> {
    return this.call(name, code, body, async () => undefined);
  }

  /**
   * Sends one request and reads the result word; on success `rest` reads the
   * command-specific remainder. On failure swtpm sends the result word only,
   * so nothing more is read.
   */
  private call<T>(
    name: string,
    code: number,
    body: Uint8Array,
    rest: (s: ByteStream, first: number) => Promise<T>,
    firstIsResult = true,
  ): Promise<T> {
    return this.queue.run(async () => {
      if (!this.stream || this.stream.closed) this.stream = await ByteStream.connect(this.address, 'swtpm control', this.timeoutMs);
      const s = this.stream;
      s.write(cat(u32(code), body));
      const first = be32(await s.read(4, this.timeoutMs));
      if (firstIsResult && first !== 0) throw new SwtpmControlError(name, first);
      return rest(s, first);
    });
  }
}
