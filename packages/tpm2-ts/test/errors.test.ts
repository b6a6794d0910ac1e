// Failure paths, pure logic: fake transports and fake socket peers returning
// garbage, truncated, oversized or no responses. Every failure must be one of
// our typed errors, promptly, and never a hang or a stray exception type.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Quote } from '../src/commands/attestation.js';
import { marshal } from '../src/codec/codec.js';
import { GetCapability } from '../src/commands/capability.js';
import { getProperties } from '../src/operations/capabilities.js';
import { GetRandom } from '../src/commands/random.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { TPM_RC } from '../src/constants/rc.js';
import { TPM_CAP } from '../src/constants/st.js';
import { TpmProtocolError, TpmResponseError, TpmSessionError, TpmTransportError } from '../src/errors.js';
import { MssimTransport } from '../src/transports/mssim.js';
import { SwtpmControl, SwtpmControlError } from '../src/transports/swtpm-control.js';
import { SwtpmTransport } from '../src/transports/swtpm.js';
import { Tpm } from '../src/tpm.js';
import type { Transport } from '../src/transport.js';

/** A transport whose answers come from a function of the command. */
class FakeTransport implements Transport {
  sent: Uint8Array[] = [];
  constructor(private readonly answer: (command: Uint8Array, n: number) => Uint8Array | Promise<Uint8Array>) {}
  async send(command: Uint8Array): Promise<Uint8Array> {
    this.sent.push(command);
    return this.answer(command, this.sent.length);
  }
  async close(): Promise<void> {}
}

function response(tag: number, rc: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = Buffer.alloc(10 + body.length);
  b.writeUInt16BE(tag, 0);
  b.writeUInt32BE(b.length, 2);
  b.writeUInt32BE(rc, 6);
  b.set(body, 10);
  return new Uint8Array(b);
}

const NO_SESSIONS = 0x8001;
const quoteInput = {
  signHandle: 0x80000001,
  qualifyingData: new Uint8Array(4),
  inScheme: { scheme: TPM_ALG.NULL, details: null },
  PCRselect: [{ hash: TPM_ALG.SHA256, pcrSelect: Uint8Array.of(1, 0, 0) }],
};
const typed = (e: unknown): boolean =>
  e instanceof TpmProtocolError || e instanceof TpmResponseError || e instanceof TpmSessionError || e instanceof TpmTransportError;

describe('GetCapability moreData loop (a scripted TPM)', () => {
  /** Answers TPM_PT properties 0x100..0x10f, two per response, honouring `property`. */
  const pagedTpm = (stuck = false): FakeTransport =>
    new FakeTransport((command) => {
      const property = new DataView(command.buffer, command.byteOffset).getUint32(14);
      const start = stuck ? 0x100 : property;
      const items = [start, start + 1].filter((p) => p <= 0x10f).map((p) => ({ property: p, value: p * 2 }));
      const body = marshal(GetCapability.responseCodec, {
        moreData: items.length > 0 && items.at(-1)!.property < 0x10f,
        capabilityData: { capability: TPM_CAP.TPM_PROPERTIES, data: items },
      });
      return response(NO_SESSIONS, 0, body);
    });

  it('collects every page, asking from after the last value each time', async () => {
    const t = pagedTpm();
    const props = await getProperties(new Tpm(t), 0x100, 0x1ff);
    expect([...props.keys()]).toEqual(Array.from({ length: 16 }, (_, i) => 0x100 + i));
    expect(props.get(0x105)).toBe(0x20a);
    expect(t.sent).toHaveLength(8);
  });

  it('stops when a TPM keeps saying moreData without progress', async () => {
    const t = pagedTpm(true);
    const props = await getProperties(new Tpm(t), 0x100, 0x1ff);
    expect(props.size).toBe(2);
    expect(t.sent.length).toBeLessThan(4);
  });
});

describe('Tpm with a misbehaving transport', () => {
  it('a response shorter than its header is a TpmProtocolError', async () => {
    const tpm = new Tpm(new FakeTransport(() => Uint8Array.of(0x80, 0x01, 0, 0)));
    await expect(tpm.execute(GetRandom, { bytesRequested: 8 })).rejects.toThrow(TpmProtocolError);
  });

  it('a size field that disagrees with the bytes is a TpmProtocolError', async () => {
    const r = response(NO_SESSIONS, 0, Uint8Array.of(0, 1, 7));
    r[5] = 99;
    const tpm = new Tpm(new FakeTransport(() => r));
    await expect(tpm.execute(GetRandom, { bytesRequested: 1 })).rejects.toThrow(/header says 99 bytes/);
  });

  it('success with truncated parameters names the command and the structure', async () => {
    // TPM2B_DIGEST claims 32 bytes, 2 follow.
    const tpm = new Tpm(new FakeTransport(() => response(NO_SESSIONS, 0, Uint8Array.of(0, 32, 1, 2))));
    const e = await tpm.execute(GetRandom, { bytesRequested: 32 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TpmProtocolError);
    expect((e as Error).message).toMatch(/TPM2_GetRandom.*randomBytes/);
  });

  it('a TPM2B size beyond its maximum is refused before reading it', async () => {
    const tpm = new Tpm(new FakeTransport(() => response(NO_SESSIONS, 0, Uint8Array.of(0xff, 0xff))));
    await expect(tpm.execute(GetRandom, { bytesRequested: 8 })).rejects.toThrow(/exceeds the maximum/);
  });

  it('a TPML count beyond what the bytes hold is refused without looping', async () => {
    // moreData, capability TPM_PROPERTIES, count 0xffffffff, nothing else.
    const body = Uint8Array.of(0, 0, 0, 0, TPM_CAP.TPM_PROPERTIES, 0xff, 0xff, 0xff, 0xff);
    const tpm = new Tpm(new FakeTransport(() => response(NO_SESSIONS, 0, body)));
    await expect(tpm.execute(GetCapability, { capability: TPM_CAP.TPM_PROPERTIES, property: 0x100, propertyCount: 1 })).rejects.toThrow(TpmProtocolError);
  });

  it('a sessions tag where none was sent is a TpmProtocolError', async () => {
    const tpm = new Tpm(new FakeTransport(() => response(0x8002, 0, Uint8Array.of(0, 0))));
    await expect(tpm.execute(GetRandom, { bytesRequested: 0 })).rejects.toThrow(/tag 0x8002/);
  });

  it('TPM_RC_RETRY is retried with back-off, then the result is returned', async () => {
    const t = new FakeTransport((_, n) => (n < 3 ? response(NO_SESSIONS, TPM_RC.RETRY) : response(NO_SESSIONS, 0, Uint8Array.of(0, 1, 42))));
    const tpm = new Tpm(t, { retry: { attempts: 5, initialDelayMs: 1, maxDelayMs: 2 } });
    expect((await tpm.execute(GetRandom, { bytesRequested: 1 })).randomBytes).toEqual(Uint8Array.of(42));
    expect(t.sent).toHaveLength(3);
  });

  it('a TPM that keeps answering TPM_RC_YIELDED gives up after the configured attempts', async () => {
    const t = new FakeTransport(() => response(NO_SESSIONS, TPM_RC.YIELDED));
    const tpm = new Tpm(t, { retry: { attempts: 4, initialDelayMs: 1, maxDelayMs: 1 } });
    const e = await tpm.execute(GetRandom, { bytesRequested: 1 }).catch((x: unknown) => x);
    expect((e as TpmResponseError).is(TPM_RC.YIELDED)).toBe(true);
    expect(t.sent).toHaveLength(4);
  });

  it('a transport failure reaches the caller as is, and the next command still runs', async () => {
    const t = new FakeTransport((_, n) => {
      if (n === 1) throw new TpmTransportError('link down');
      return response(NO_SESSIONS, 0, Uint8Array.of(0, 0));
    });
    const tpm = new Tpm(t);
    await expect(tpm.execute(GetRandom, { bytesRequested: 0 })).rejects.toThrow('link down');
    await expect(tpm.execute(GetRandom, { bytesRequested: 0 })).resolves.toBeDefined();
  });

  it('fuzz: any bytes as a Quote response end in a typed error or a decoded result', async () => {
    // Password session acknowledgement: empty nonce, continueSession, empty hmac.
    const passwordAck = Uint8Array.of(0, 0, 1, 0, 0);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('raw', 'header', 'framed'), async (bytes, mode) => {
        let r: Uint8Array;
        if (mode === 'raw') r = bytes;
        else if (mode === 'header') r = response(0x8002, 0, bytes);
        else {
          // A well-framed success whose parameter area is the random bytes: the Quote decoder sees them.
          const body = Buffer.alloc(4 + bytes.length + passwordAck.length);
          body.writeUInt32BE(bytes.length, 0);
          body.set(bytes, 4);
          body.set(passwordAck, 4 + bytes.length);
          r = response(0x8002, 0, body);
        }
        const tpm = new Tpm(new FakeTransport(() => r), { retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } });
        const out = await tpm.execute(Quote, quoteInput).then(
          () => 'ok',
          (e: unknown) => (typed(e) ? 'typed' : e),
        );
        expect(out === 'ok' || out === 'typed').toBe(true);
      }),
      { numRuns: 600 },
    );
  });
});

/** A Unix socket peer scripted per connection. */
async function fakePeer(dir: string, name: string, onData: (sock: Socket, data: Buffer) => void): Promise<{ server: Server; path: string }> {
  const path = join(dir, name);
  const server = createServer((sock) => {
    sock.on('data', (d: Buffer) => onData(sock, d));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { server, path };
}

describe('socket transports with misbehaving peers', () => {
  let dir: string;
  const servers: Server[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-peer-'));
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const peer = async (name: string, onData: (sock: Socket, data: Buffer) => void): Promise<string> => {
    const p = await fakePeer(dir, name, onData);
    servers.push(p.server);
    return p.path;
  };

  it('nobody listening: TpmTransportError naming the address', async () => {
    const t = new SwtpmTransport({ path: join(dir, 'nobody') });
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/cannot connect to swtpm at unix:.*nobody/);
  });

  it('a peer that closes mid-response: TpmTransportError, and the next command reconnects', async () => {
    let n = 0;
    const path = await peer('half', (sock) => {
      n++;
      if (n === 1) sock.end(Buffer.from([0x80, 0x01, 0, 0, 0, 20]));
      else sock.write(response(NO_SESSIONS, 0));
    });
    const t = new SwtpmTransport({ path });
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/closed the connection/);
    expect(await t.send(response(NO_SESSIONS, 0))).toHaveLength(10);
    await t.close();
  });

  it('a huge size in the response header is refused before anything is allocated or awaited', async () => {
    const path = await peer('huge', (sock) => sock.write(Buffer.from([0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])));
    const t = new SwtpmTransport({ path });
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/size 4294967295, outside \[10, 65536\]/);
    await t.close();
  });

  it('bytes beyond the announced response are a framing error', async () => {
    const path = await peer('extra', (sock) => sock.write(Buffer.concat([response(NO_SESSIONS, 0), Buffer.from([1, 2, 3])])));
    const t = new SwtpmTransport({ path });
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/beyond the 10 its response header announced/);
    await t.close();
  });

  it('a peer that never answers: TpmTransportError after the timeout, not a hang', async () => {
    const path = await peer('silent', () => undefined);
    const t = new SwtpmTransport({ path }, { timeoutMs: 100 });
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/no answer within 100 ms/);
    await t.close();
  });

  it('after close(), send fails cleanly', async () => {
    const path = await peer('ok', (sock) => sock.write(response(NO_SESSIONS, 0)));
    const t = new SwtpmTransport({ path });
    await t.send(response(NO_SESSIONS, 0));
    await t.close();
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/transport is closed/);
  });

  it('mssim: a non-zero acknowledgement is a framing error', async () => {
    const server = createServer((sock) =>
      sock.on('data', () => {
        const r = response(NO_SESSIONS, 0);
        const out = Buffer.alloc(4 + r.length + 4);
        out.writeUInt32BE(r.length, 0);
        out.set(r, 4);
        out.writeUInt32BE(7, 4 + r.length);
        sock.write(out);
      }),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const t = new MssimTransport({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    await expect(t.send(response(NO_SESSIONS, 0))).rejects.toThrow(/acknowledged with 7/);
    await t.close();
  });

  it('swtpm control: a non-zero result is a SwtpmControlError with the result', async () => {
    const path = await peer('ctrl', (sock) => sock.write(Buffer.from([0, 0, 0, 10])));
    const c = new SwtpmControl({ path });
    const e = await c.init().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SwtpmControlError);
    expect((e as SwtpmControlError).result).toBe(10);
    await c.close();
  });
});
