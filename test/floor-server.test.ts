/**
 * The floor benchmark's server session (bench/src/floor/server-session.ts)
 * over real sockets: it must give an affirming verdict only to a quote of
 * the nonce it issued to that connection, signed by that device's AK —
 * verified for real with crypto.verify — and must close a connection that
 * sends frames it cannot read, counting why, without crashing and while
 * serving its other connections. The floor's figures are only worth
 * something if the work measured is the real check; this is what says so.
 * Plain TCP (the `tcp` variant, where the device names itself in a hello);
 * the TLS variants run end to end in test/bench-smoke.test.ts.
 */
import { sign, type KeyObject } from 'node:crypto';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FloorDevice } from '../bench/src/floor/device.js';
import { FrameParser } from '../bench/src/floor/frame-parser.js';
import { decodeFrame, encodeFrame, FLOOR_CHALLENGE, FLOOR_EVIDENCE, FLOOR_HELLO, FLOOR_REQUEST, FLOOR_RESULT, FloorVerdict, FrameKind } from '../bench/src/floor/frames.js';
import { FloorQuoter } from '../bench/src/floor/quote.js';
import { FloorServerSession, resultFrames, type SessionContext } from '../bench/src/floor/server-session.js';
import { VARIANT_TRAITS } from '../bench/src/floor/variant.js';
import { WIRE_SIZES } from '../bench/src/floor/wire-sizes.js';

// Through tpm2-ts: a key straight from node's key generation is not safe to export in Node 20 (key-pair.ts).
const ak = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
const stranger = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
const quoter = new FloorQuoter(ak.publicKey);

let server: Server;
let port: number;
let context: SessionContext;
const open = new Set<Socket>();

beforeAll(async () => {
  context = {
    traits: VARIANT_TRAITS.tcp,
    sizes: WIRE_SIZES,
    aks: new Map<string, KeyObject>([['dev-1', ak.publicKey]]),
    results: resultFrames(WIRE_SIZES),
    verdicts: {},
    refusals: {},
  };
  server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.setNoDelay(true);
    new FloorServerSession(socket, undefined, context);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  // Connections a failed test left open would hold close() up.
  for (const s of open) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A peer that speaks the floor's frames by hand, so it can also speak them wrong. */
class RawPeer {
  readonly socket: Socket;
  readonly #frames: Buffer[] = [];
  readonly #waiters: Array<(b: Buffer | undefined) => void> = [];
  #isClosed = false;
  readonly closed: Promise<void>;

  constructor() {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    const parser = new FrameParser(1 << 16, (body) => {
      const copy = Buffer.from(body);
      const w = this.#waiters.shift();
      if (w !== undefined) w(copy);
      else this.#frames.push(copy);
    });
    this.socket.on('data', (chunk: Buffer) => parser.feed(chunk));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.#isClosed = true;
        for (const w of this.#waiters.splice(0)) w(undefined);
        resolve();
      }),
    );
  }

  static async hello(deviceId = 'dev-1'): Promise<RawPeer> {
    const p = new RawPeer();
    await new Promise<void>((resolve) => p.socket.once('connect', () => resolve()));
    const id = Buffer.from(deviceId);
    p.socket.write(encodeFrame(FLOOR_HELLO, { kind: FrameKind.hello, deviceId: id }, 4 + 3 + id.length));
    return p;
  }

  /** The next frame body, or undefined if the connection closed first. */
  next(): Promise<Buffer | undefined> {
    const f = this.#frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.#isClosed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async challenge(): Promise<Uint8Array> {
    this.socket.write(encodeFrame(FLOOR_REQUEST, { kind: FrameKind.request }, WIRE_SIZES.request));
    const body = await this.next();
    expect(body?.[0]).toBe(FrameKind.challenge);
    return decodeFrame(FLOOR_CHALLENGE, body!).nonce;
  }

  async evidence(attest: Uint8Array, signature: Uint8Array): Promise<number> {
    this.socket.write(encodeFrame(FLOOR_EVIDENCE, { kind: FrameKind.evidence, attest, signature }, WIRE_SIZES.evidence));
    const body = await this.next();
    expect(body?.[0]).toBe(FrameKind.result);
    return decodeFrame(FLOOR_RESULT, body!).verdict;
  }
}

const signed = (attest: Uint8Array, key: KeyObject = ak.privateKey) => sign('sha256', attest, { key, dsaEncoding: 'ieee-p1363' });

describe('floor server session (plain TCP, real signatures)', () => {
  it('affirms a closed loop of an honest device (FloorDevice), every round with a fresh nonce', async () => {
    const before = context.verdicts['affirming'] ?? 0;
    const verdicts: number[] = [];
    let closedWith: string | undefined = 'still open';
    const rounds = 25;
    const done = new Promise<void>((resolve) => {
      const device: FloorDevice = new FloorDevice({
        deviceId: 'dev-1',
        host: '127.0.0.1',
        port,
        traits: VARIANT_TRAITS.tcp,
        sizes: WIRE_SIZES,
        ak: ak.privateKey,
        quoter,
        onResult: (verdict, latencyMs, roundMs) => {
          verdicts.push(verdict);
          expect(roundMs).toBeGreaterThanOrEqual(latencyMs);
          if (verdicts.length === rounds) {
            device.loop = false;
            device.close();
            resolve();
          }
        },
        onClose: (reason) => (closedWith = reason),
      });
      void device.connect(10_000).then(() => {
        device.loop = true;
        device.ask();
      });
    });
    await done;
    expect(verdicts).toEqual(Array<number>(rounds).fill(FloorVerdict.affirming));
    expect(context.verdicts['affirming']! - before).toBe(rounds);
    await new Promise((r) => setTimeout(r, 50));
    expect(closedWith).toBeUndefined(); // closed by the device, not for an error
  });

  it('refuses a quote of any nonce but the one issued to this connection, and a nonce used twice', async () => {
    const a = await RawPeer.hello();
    const b = await RawPeer.hello();
    const nonceA = await a.challenge();
    const nonceB = await b.challenge();
    expect(Buffer.from(nonceA).equals(Buffer.from(nonceB))).toBe(false);
    // B's nonce answered on A's connection.
    const crossed = quoter.quote(nonceB);
    expect(await a.evidence(crossed, signed(crossed))).toBe(FloorVerdict.nonceMismatch);
    // A's nonce was used up by that attempt: even the right quote is now too late.
    const late = quoter.quote(nonceA);
    expect(await a.evidence(late, signed(late))).toBe(FloorVerdict.nonceMismatch);
    // B answers its own, once: affirming; the same evidence again is a replay.
    const own = quoter.quote(nonceB);
    const signature = signed(own);
    expect(await b.evidence(own, signature)).toBe(FloorVerdict.affirming);
    expect(await b.evidence(own, signature)).toBe(FloorVerdict.nonceMismatch);
    a.socket.destroy();
    b.socket.destroy();
  });

  it('refuses a signature by another key, and a signature with one bit changed', async () => {
    const p = await RawPeer.hello();
    const q1 = quoter.quote(await p.challenge());
    expect(await p.evidence(q1, signed(q1, stranger.privateKey))).toBe(FloorVerdict.badSignature);
    const q2 = quoter.quote(await p.challenge());
    const bent = signed(q2);
    bent[10]! ^= 0x01;
    expect(await p.evidence(q2, bent)).toBe(FloorVerdict.badSignature);
    // A signature over other bytes than the ones sent (the clock moved between two quotes of the same nonce).
    const nonce = await p.challenge();
    const sent = quoter.quote(nonce);
    const other = Buffer.from(sent);
    other[other.length - 1]! ^= 0xff;
    expect(await p.evidence(sent, signed(other))).toBe(FloorVerdict.badSignature);
    p.socket.destroy();
  });

  it('calls anything that is not a TPMS_ATTEST of a quote malformed', async () => {
    const p = await RawPeer.hello();
    await p.challenge();
    const notQuote = Buffer.alloc(145, 0x11);
    expect(await p.evidence(notQuote, signed(notQuote))).toBe(FloorVerdict.malformedQuote);
    p.socket.destroy();
  });

  it('closes a connection that sends what it cannot read, counting why, and keeps serving the others', async () => {
    const cases: Array<{ reason: string; send: (p: RawPeer) => void | Promise<void>; hello?: boolean }> = [
      { reason: 'too-large', send: (p) => void p.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff])) },
      { reason: 'empty', send: (p) => void p.socket.write(Buffer.from([0, 0, 0, 0])) },
      { reason: 'malformed', send: (p) => void p.socket.write(Buffer.from([0, 0, 0, 1, 0x7f])) },
      { reason: 'malformed', send: (p) => void p.socket.write(Buffer.from([0, 0, 0, 4, FrameKind.evidence, 0xff, 0xff, 0])) },
      { reason: 'protocol', hello: false, send: (p) => void p.socket.write(encodeFrame(FLOOR_REQUEST, { kind: FrameKind.request }, WIRE_SIZES.request)) },
      { reason: 'protocol', hello: false, send: (p) => void p.socket.write(encodeFrame(FLOOR_HELLO, { kind: FrameKind.hello, deviceId: Buffer.from('nobody') }, 13)) },
      {
        reason: 'protocol',
        send: (p) => void p.socket.write(encodeFrame(FLOOR_HELLO, { kind: FrameKind.hello, deviceId: Buffer.from('dev-1') }, 12)),
      },
    ];
    const honest = await RawPeer.hello();
    for (const c of cases) {
      const before = context.refusals[c.reason] ?? 0;
      const p = c.hello === false ? new RawPeer() : await RawPeer.hello();
      if (c.hello === false) await new Promise<void>((resolve) => p.socket.once('connect', () => resolve()));
      await c.send(p);
      await p.closed;
      expect(context.refusals[c.reason], c.reason).toBe(before + 1);
    }
    // The honest connection, open all along, still gets its verdict.
    const q = quoter.quote(await honest.challenge());
    expect(await honest.evidence(q, signed(q))).toBe(FloorVerdict.affirming);
    honest.socket.destroy();
  });

  it('answers any byte stream after a hello with well-formed frames or a counted close, never a crash (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 400 }),
          // Well-framed bodies of any kind byte: the decoders get exercised, not only the length prefix.
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 4 }).map((bodies) =>
            Buffer.concat(bodies.map((b) => Buffer.concat([Buffer.from([0, 0, b.length >> 8, b.length & 0xff]), b]))),
          ),
        ),
        async (bytes) => {
          const refused = Object.values(context.refusals).reduce((a, b) => a + b, 0);
          const p = await RawPeer.hello();
          p.socket.write(bytes);
          p.socket.end();
          const received: Buffer[] = [];
          for (let f = await p.next(); f !== undefined; f = await p.next()) received.push(f);
          // Whatever came back is a challenge or a result the device can read, with a known verdict.
          for (const body of received) {
            if (body[0] === FrameKind.challenge) expect(decodeFrame(FLOOR_CHALLENGE, body).nonce).toHaveLength(32);
            else {
              expect(body[0]).toBe(FrameKind.result);
              expect(Object.values(FloorVerdict)).toContain(decodeFrame(FLOOR_RESULT, body).verdict);
            }
          }
          // At most one refusal for this connection (it is closed at the first).
          const after = Object.values(context.refusals).reduce((a, b) => a + b, 0);
          expect(after - refused).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 60 },
    );
    // The server is still there and still right.
    const p = await RawPeer.hello();
    const q = quoter.quote(await p.challenge());
    expect(await p.evidence(q, signed(q))).toBe(FloorVerdict.affirming);
    p.socket.destroy();
  });
});
