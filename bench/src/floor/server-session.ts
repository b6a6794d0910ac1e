/**
 * One device's connection at the floor's server: the irreducible work of a
 * verdict and nothing else. A request gets a fresh 32-byte nonce (from the
 * same CSPRNG pool the verifier uses, `randomPublicBytes`), remembered for
 * this connection; evidence is checked against it (the nonce is used once,
 * whatever the outcome), its signature verified with the callback form of
 * `crypto.verify` — on libuv's thread pool, as the verifier does — and a
 * result written. Every message is one write (one TLS record).
 *
 * Bad input never throws out of here: a frame that cannot be read closes
 * the connection and is counted by reason.
 */
import { verify, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import { randomPublicBytes } from '@vigil/protocol/core';
import { FloorWireError } from './errors.js';
import { FrameParser } from './frame-parser.js';
import { decodeFrame, encodeFrame, FLOOR_CHALLENGE, FLOOR_EVIDENCE, FLOOR_HELLO, FLOOR_RESULT, FloorVerdict, FrameKind, VERDICT_NAMES } from './frames.js';
import { quoteNonce } from './quote.js';
import type { VariantTraits } from './variant.js';
import type { WireSizes } from './wire-sizes.js';

/** What every session of one server shares: settings, the AKs, the counters. */
export interface SessionContext {
  readonly traits: VariantTraits;
  readonly sizes: WireSizes;
  /** The device's AK by device id. */
  readonly aks: ReadonlyMap<string, KeyObject>;
  /** `resultFrames(sizes)`. */
  readonly results: readonly Buffer[];
  readonly verdicts: Record<string, number>;
  readonly refusals: Record<string, number>;
}

/** Larger than any frame of the floor: evidence, the largest, is ~1.5 KB. */
const MAX_FRAME_BODY = 16 * 1024;

/** The result frame of each verdict, made once per server (results carry nothing that changes), indexed by verdict code. */
export function resultFrames(sizes: WireSizes): readonly Buffer[] {
  const frames: Buffer[] = [];
  for (const verdict of Object.values(FloorVerdict)) frames[verdict] = encodeFrame(FLOOR_RESULT, { kind: FrameKind.result, verdict }, sizes.result);
  return frames;
}

export class FloorServerSession {
  readonly #socket: Socket;
  readonly #context: SessionContext;
  readonly #parser: FrameParser;
  /** The device's AK: from its certificate (TLS), or from its hello (plain TCP, which has no peer identity). */
  #ak: KeyObject | undefined;
  /** The nonce issued to this connection and not yet answered. */
  #nonce: Buffer | undefined;

  constructor(socket: Socket, ak: KeyObject | undefined, context: SessionContext) {
    this.#socket = socket;
    this.#ak = ak;
    this.#context = context;
    this.#parser = new FrameParser(MAX_FRAME_BODY, (body) => this.#onFrame(body));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#parser.feed(chunk);
      } catch (err) {
        this.refuse(err instanceof FloorWireError ? err.code : 'internal');
        if (!(err instanceof FloorWireError)) throw err;
      }
    });
    // A peer that vanishes mid-write is not the benchmark's concern; its close is.
    socket.on('error', () => undefined);
  }

  /** Closes the connection, counting why. */
  refuse(reason: string): void {
    this.#context.refusals[reason] = (this.#context.refusals[reason] ?? 0) + 1;
    this.#socket.destroy();
  }

  #onFrame(body: Buffer): void {
    switch (body[0]) {
      case FrameKind.request:
        return this.#challenge();
      case FrameKind.evidence:
        return this.#appraise(body);
      case FrameKind.hello:
        return this.#hello(body);
      default:
        throw new FloorWireError('malformed', `unknown frame kind ${body[0]}`);
    }
  }

  #hello(body: Buffer): void {
    if (this.#context.traits.tls || this.#ak !== undefined) throw new FloorWireError('protocol', 'a hello where the identity is already known');
    const deviceId = Buffer.from(decodeFrame(FLOOR_HELLO, body).deviceId).toString('utf8');
    const ak = this.#context.aks.get(deviceId);
    if (ak === undefined) throw new FloorWireError('protocol', `unknown device ${JSON.stringify(deviceId.slice(0, 80))}`);
    this.#ak = ak;
  }

  #challenge(): void {
    if (this.#ak === undefined) throw new FloorWireError('protocol', 'a request before the device is known');
    // A second request replaces the outstanding nonce: only the latest is answerable.
    const nonce = randomPublicBytes(32);
    this.#nonce = nonce;
    this.#socket.write(encodeFrame(FLOOR_CHALLENGE, { kind: FrameKind.challenge, nonce }, this.#context.sizes.challenge));
  }

  #appraise(body: Buffer): void {
    const { attest, signature } = decodeFrame(FLOOR_EVIDENCE, body);
    const issued = this.#nonce;
    this.#nonce = undefined; // used once, whatever the outcome
    const nonce = quoteNonce(attest);
    if (nonce === null) return this.#answer(FloorVerdict.malformedQuote);
    if (issued === undefined || !issued.equals(nonce)) return this.#answer(FloorVerdict.nonceMismatch);
    if (!this.#context.traits.ecdsa) return this.#answer(FloorVerdict.affirming);
    // The callback form runs on libuv's thread pool, as the verifier's signature check does.
    verify('sha256', attest, { key: this.#ak!, dsaEncoding: 'ieee-p1363' }, signature, (err, ok) =>
      this.#answer(err === null && ok ? FloorVerdict.affirming : FloorVerdict.badSignature),
    );
  }

  #answer(verdict: FloorVerdict): void {
    const name = VERDICT_NAMES[verdict]!;
    this.#context.verdicts[name] = (this.#context.verdicts[name] ?? 0) + 1;
    if (!this.#socket.destroyed) this.#socket.write(this.#context.results[verdict]!);
  }
}
