/**
 * One simulated device of the floor, on its own connection: asks for a
 * challenge, answers it with a quote of the nonce signed by its AK (ECDSA
 * P-256 / SHA-256, `crypto.sign` with a prepared KeyObject, IEEE P1363 —
 * as the fleet simulator's software TPM signs), and, in the closed loop,
 * asks again as soon as the result is in. Each message is one write, so
 * one TLS record.
 *
 * Reads land in one buffer the whole process shares (the socket's
 * `onread`, as the lean MQTT client reads): the frame parser consumes each
 * read before the next can start and copies only a frame split over reads.
 */
import { sign, type KeyObject } from 'node:crypto';
import { connect as tcpConnect, type OnReadOpts, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type ConnectionOptions, type SecureContext } from 'node:tls';
import { FloorWireError } from './errors.js';
import { FRAME_HEADER_BYTES, FrameParser } from './frame-parser.js';
import { decodeFrame, encodeFrame, FLOOR_CHALLENGE, FLOOR_EVIDENCE, FLOOR_HELLO, FLOOR_REQUEST, FLOOR_RESULT, FrameKind } from './frames.js';
import type { FloorQuoter } from './quote.js';
import type { VariantTraits } from './variant.js';
import type { WireSizes } from './wire-sizes.js';

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/** The largest frame a device accepts: the result, under 1 KB, is the largest the server sends. */
const MAX_FRAME_BODY = 16 * 1024;
/** `tls-nocrypto`: the signature's bytes without the signing (an ECDSA P-256 signature is 64 bytes, r ‖ s). */
const UNSIGNED = new Uint8Array(64);

export interface FloorDeviceOptions {
  readonly deviceId: string;
  readonly host: string;
  readonly port: number;
  readonly traits: VariantTraits;
  readonly sizes: WireSizes;
  /** The AK's private key. */
  readonly ak: KeyObject;
  readonly quoter: FloorQuoter;
  /** CA, device certificate and key (`leanSecureContext`); TLS variants only. */
  readonly secureContext?: SecureContext;
  /** Each result: its verdict code, evidence → result and request → result, ms. */
  readonly onResult: (verdict: number, latencyMs: number, roundMs: number) => void;
  /** Once, when an established connection closes; `reason` names an error, undefined when `close` was called. */
  readonly onClose: (reason: string | undefined) => void;
}

export class FloorDevice {
  /** Closed loop: ask again as soon as a result arrives. */
  loop = false;
  readonly #options: FloorDeviceOptions;
  readonly #parser: FrameParser;
  readonly #request: Buffer;
  #socket: Socket | undefined;
  #requestedAt = 0;
  #evidenceAt = 0;
  /** A request is out and its result not yet in. */
  #waiting = false;
  #closing = false;
  #error: string | undefined;

  constructor(options: FloorDeviceOptions) {
    this.#options = options;
    this.#parser = new FrameParser(MAX_FRAME_BODY, (body) => this.#onFrame(body));
    this.#request = requestFrame(options.sizes);
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** Opens the connection (the TLS handshake done, or the TCP hello written); rejects if it fails or takes over `timeoutMs`. */
  connect(timeoutMs: number): Promise<void> {
    const o = this.#options;
    const onread: OnReadOpts = { buffer: READ_BUFFER, callback: (n: number) => this.#onRead(n) };
    return new Promise((resolve, reject) => {
      let socket: Socket;
      if (o.traits.tls) {
        if (o.secureContext === undefined) return reject(new RangeError(`${o.deviceId}: a TLS variant needs a secure context`));
        // `onread` is a documented tls.connect option (Node.js tls docs, "tls.connect(options)") that @types/node lacks.
        const options: ConnectionOptions & { readonly onread: OnReadOpts } = {
          host: o.host,
          port: o.port,
          servername: 'localhost',
          secureContext: o.secureContext,
          rejectUnauthorized: true,
          onread,
        };
        socket = tlsConnect(options);
      } else {
        socket = tcpConnect({ host: o.host, port: o.port, onread });
      }
      const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
      const opened = () => {
        clearTimeout(timer);
        socket.off('close', failed);
        socket.setNoDelay(true);
        this.#socket = socket;
        // Plain TCP has no peer identity: the device names itself once (the TLS variants never do).
        if (!o.traits.tls) socket.write(helloFrame(o.deviceId));
        socket.once('close', () => o.onClose(this.#closing ? undefined : (this.#error ?? 'closed by the server')));
        resolve();
      };
      const failed = () => {
        clearTimeout(timer);
        reject(new Error(`${o.deviceId}: ${this.#error ?? 'connection closed'}`));
      };
      socket.on('error', (err: Error) => (this.#error ??= err.message));
      socket.once(o.traits.tls ? 'secureConnect' : 'connect', opened);
      socket.once('close', failed);
    });
  }

  /** Asks for a challenge unless one is already on its way. */
  ask(): void {
    if (this.#waiting || !this.connected) return;
    this.#waiting = true;
    this.#requestedAt = performance.now();
    this.#socket!.write(this.#request);
  }

  close(): void {
    this.#closing = true;
    this.#socket?.destroy();
  }

  /** Returns true: keep reading (false would pause the socket). */
  #onRead(n: number): boolean {
    try {
      this.#parser.feed(READ_BUFFER, n);
    } catch (err) {
      this.#error ??= err instanceof FloorWireError ? err.code : String(err);
      this.#socket?.destroy();
    }
    return true;
  }

  #onFrame(body: Buffer): void {
    if (body[0] === FrameKind.challenge) return this.#answer(decodeFrame(FLOOR_CHALLENGE, body).nonce);
    if (body[0] === FrameKind.result) return this.#result(decodeFrame(FLOOR_RESULT, body).verdict);
    throw new FloorWireError('protocol', `a device does not expect frame kind ${body[0]}`);
  }

  #answer(nonce: Uint8Array): void {
    const o = this.#options;
    const attest = o.quoter.quote(nonce);
    const signature = o.traits.ecdsa ? sign('sha256', attest, { key: o.ak, dsaEncoding: 'ieee-p1363' }) : UNSIGNED;
    const frame = encodeFrame(FLOOR_EVIDENCE, { kind: FrameKind.evidence, attest, signature }, o.sizes.evidence);
    this.#evidenceAt = performance.now();
    this.#socket!.write(frame);
  }

  #result(verdict: number): void {
    const now = performance.now();
    this.#waiting = false;
    this.#options.onResult(verdict, now - this.#evidenceAt, now - this.#requestedAt);
    if (this.loop) this.ask();
  }
}

/** The request frame: nothing but its kind, padded (shared by every device: never written to after it is made). */
const requestFrames = new Map<number, Buffer>();
function requestFrame(sizes: WireSizes): Buffer {
  let frame = requestFrames.get(sizes.request);
  if (frame === undefined) requestFrames.set(sizes.request, (frame = encodeFrame(FLOOR_REQUEST, { kind: FrameKind.request }, sizes.request)));
  return frame;
}

function helloFrame(deviceId: string): Buffer {
  const id = Buffer.from(deviceId, 'utf8');
  return encodeFrame(FLOOR_HELLO, { kind: FrameKind.hello, deviceId: id }, FRAME_HEADER_BYTES + 3 + id.length);
}
