/**
 * The floor's messages: each a frame (`frame-parser.ts`: 4-byte length,
 * body) whose body is one of the structures below, declared once and run
 * through the @vigil/tpm2-ts codec both ways, then zero-padded to the size
 * of the real message it stands for (`wire-sizes.ts`). The first body byte
 * names the kind. No JSON and no MQTT: what is left is what any protocol
 * for this exchange must carry — the nonce out, the signed quote and its
 * signature back, a verdict.
 */
import { struct, tpm2b, TpmUnmarshalError, UINT8, unmarshalPrefix, type Codec } from '@vigil/tpm2-ts';
import { ScratchWriter } from '../fleet/scratch-writer.js';
import { FloorWireError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame-parser.js';

/** The first byte of every body. */
export const FrameKind = { hello: 1, request: 2, challenge: 3, evidence: 4, result: 5 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Plain TCP only (it has no peer certificate): the device names itself once, before its first request. */
export const FLOOR_HELLO = struct('FloorHello', { kind: UINT8, deviceId: tpm2b('deviceId', 128) });
export const FLOOR_REQUEST = struct('FloorRequest', { kind: UINT8 });
/** The verifier's fresh nonce (32 bytes, as the real challenge's). */
export const FLOOR_CHALLENGE = struct('FloorChallenge', { kind: UINT8, nonce: tpm2b('nonce', 64) });
/** The quote's TPMS_ATTEST and the AK's ECDSA signature over it (r ‖ s, IEEE P1363). */
export const FLOOR_EVIDENCE = struct('FloorEvidence', { kind: UINT8, attest: tpm2b('attest', 1024), signature: tpm2b('signature', 512) });
export const FLOOR_RESULT = struct('FloorResult', { kind: UINT8, verdict: UINT8 });

/** What the server found, in the result frame. */
export const FloorVerdict = {
  affirming: 0,
  /** extraData is not the nonce issued to this connection (or none is outstanding). */
  nonceMismatch: 1,
  /** The signature does not verify under the device's AK. */
  badSignature: 2,
  /** The attest is not a TPMS_ATTEST of a quote. */
  malformedQuote: 3,
} as const;
export type FloorVerdict = (typeof FloorVerdict)[keyof typeof FloorVerdict];
export const VERDICT_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(FloorVerdict).map(([name, code]) => [code, name]));

const SCRATCH = new ScratchWriter();

/**
 * `value` marshalled by `codec` as a frame of exactly `wireBytes` bytes
 * (length prefix included), zero-padded. Throws a RangeError when the body
 * does not fit: a size constant smaller than the structure is a bug.
 */
export function encodeFrame<T>(codec: Codec<T>, value: T, wireBytes: number): Buffer {
  const frame = Buffer.alloc(wireBytes);
  frame.writeUInt32BE(wireBytes - FRAME_HEADER_BYTES, 0);
  writeBody(codec, value, frame.subarray(FRAME_HEADER_BYTES));
  return frame;
}

/**
 * `value` marshalled by `codec` as a body of exactly `bytes` bytes,
 * zero-padded, with no length prefix: the payload of an MQTT publish in the
 * `mqtt` variant, where the packet carries the length. Throws a RangeError
 * when the structure does not fit.
 */
export function encodeBody<T>(codec: Codec<T>, value: T, bytes: number): Buffer {
  const body = Buffer.alloc(bytes);
  writeBody(codec, value, body);
  return body;
}

function writeBody<T>(codec: Codec<T>, value: T, into: Buffer): void {
  const body = SCRATCH.marshal(codec, value);
  if (body.length > into.length) throw new RangeError(`${codec.name}: ${body.length} bytes do not fit a ${into.length}-byte body`);
  body.copy(into);
}

/**
 * The structure at the front of a frame body (the padding after it is
 * ignored). Bad bytes become `FloorWireError('malformed')` naming the
 * field; nothing is read past the body.
 */
export function decodeFrame<T>(codec: Codec<T>, body: Uint8Array): T {
  try {
    return unmarshalPrefix(codec, body).value;
  } catch (err) {
    if (err instanceof TpmUnmarshalError) throw new FloorWireError('malformed', err.message, { cause: err });
    throw err;
  }
}
