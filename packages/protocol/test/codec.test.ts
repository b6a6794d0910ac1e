import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_JSON_DEPTH,
  MAX_PAYLOAD_BYTES,
  ProtocolError,
  codecs,
  decodeEvidence,
  decodeEnrollProof,
  encodeEvidence,
  type MessageCodec,
  type TopicKind,
} from '../src/index.js';
import * as ex from './fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (v: unknown): Uint8Array => enc(JSON.stringify(v));

/** One valid example per topic kind (two for the union results). */
const examples: Array<[TopicKind, () => unknown]> = [
  ['enroll-request', ex.enrollRequest],
  ['enroll-challenge', ex.enrollChallenge],
  ['enroll-proof', ex.enrollProof],
  ['enroll-result', ex.enrollAccepted],
  ['enroll-result', ex.enrollRejected],
  ['device-challenge', ex.challenge],
  ['device-challenge-request', ex.challengeRequest],
  ['device-evidence', ex.evidence],
  ['device-result', ex.verdictResult],
  ['device-result', ex.failureResult],
  ['fleet-revocations', ex.revocationEvent],
];

function expectError(result: unknown, reason: string, path?: string): ProtocolError {
  expect(result).toBeInstanceOf(ProtocolError);
  const err = result as ProtocolError;
  expect(err.reason).toBe(reason);
  if (path !== undefined) expect(err.path).toBe(path);
  return err;
}

describe('message codecs', () => {
  it.each(examples)('%s: a valid message survives encode → decode unchanged', (kind, make) => {
    const codec = codecs[kind] as MessageCodec<unknown>;
    const message = make();
    const decoded = codec.decode(codec.encode(message));
    expect(decoded).not.toBeInstanceOf(ProtocolError);
    expect(decoded).toEqual(message);
  });

  it.each(examples)('%s: version 2, a missing field and an extra field are schema errors naming the path', (kind, make) => {
    const codec = codecs[kind] as MessageCodec<unknown>;
    const message = make() as Record<string, unknown>;
    expectError(codec.decode(json({ ...message, v: 2 })), 'schema', '/v');
    const { v: _v, ...withoutV } = message;
    expectError(codec.decode(json(withoutV)), 'schema');
    const err = expectError(codec.decode(json({ ...message, extra: true })), 'schema');
    expect(err.message).toContain('"extra"');
  });

  it.each(Object.entries(MAX_PAYLOAD_BYTES))('%s: a payload over %i bytes is refused before it is parsed', (kind, limit) => {
    const codec = codecs[kind as TopicKind] as MessageCodec<unknown>;
    // Not JSON at all: if it were parsed first the reason would be invalid-json.
    const payload = new Uint8Array(limit + 1).fill(0x7b);
    expectError(codec.decode(payload), 'payload-too-large');
    expectError(codec.decode(payload.subarray(0, limit)), 'too-deep');
  });

  it('refuses invalid UTF-8 and non-JSON', () => {
    expectError(decodeEnrollProof(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 'invalid-json');
    expectError(decodeEnrollProof(enc('{"v":1,')), 'invalid-json');
    expectError(decodeEnrollProof(enc('')), 'invalid-json');
    expectError(decodeEnrollProof(enc('"\\')), 'invalid-json');
  });

  it('bounds nesting depth before parsing, ignoring brackets inside strings', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expectError(decodeEnrollProof(enc(deep(MAX_JSON_DEPTH + 1))), 'too-deep');
    // At the limit it parses, then fails the schema (an array is not a proof).
    expectError(decodeEnrollProof(enc(deep(MAX_JSON_DEPTH))), 'schema');
    // Brackets and escaped quotes inside a string do not count.
    const tricky = { v: 1, sessionId: 'abcdefghijklmnopqrstuv', proof: ex.hex(32), x: '[[[[[[[[[[[[[[[[[[[[[[\\"[[[[[[' };
    expectError(decodeEnrollProof(json(tricky)), 'schema');
  });

  it('refuses prototype-polluting keys however they are spelled, but not such words as values', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expectError(decodeEnrollProof(enc(`{"v":1,"${key}":{}}`)), 'forbidden-key');
    }
    expectError(decodeEnrollProof(enc('{"v":1,"\\u005f_proto__":{"polluted":true}}')), 'forbidden-key');
    expectError(decodeEnrollProof(enc('{"a":{"b":{"constructor" :1}}}')), 'forbidden-key');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const asValue = { ...ex.challengeRequest(), detail: '__proto__' };
    expect(codecs['device-challenge-request'].decode(json(asValue))).toEqual(asValue);
  });

  it('checks base64 strictly: alphabet, padding and length', () => {
    const good = ex.evidence();
    for (const bad of ['AAA', 'AA=A', 'A===', 'AA-A', 'AA_A', 'AAA\n', ' AAAA', 'AAAA====', 'AB==']) {
      const err = expectError(decodeEvidence(json({ ...good, quote: bad })), 'schema', '/quote');
      expect(err.message).toContain('/quote');
    }
    expect(decodeEvidence(json({ ...good, quote: 'AA==' }))).not.toBeInstanceOf(ProtocolError);
  });

  it('bounds binary fields by decoded size', () => {
    const good = ex.evidence();
    expectError(decodeEvidence(json({ ...good, quote: ex.b64(2049) })), 'schema', '/quote');
    expect(decodeEvidence(json({ ...good, quote: ex.b64(2048) }))).not.toBeInstanceOf(ProtocolError);
  });

  it('checks digests as lowercase hex of the exact length', () => {
    const good = ex.challenge();
    expectError(codecs['device-challenge'].decode(json({ ...good, nonce: good.nonce.toUpperCase() })), 'schema', '/nonce');
    expectError(codecs['device-challenge'].decode(json({ ...good, nonce: good.nonce.slice(2) })), 'schema', '/nonce');
    const badPcr = ex.evidence();
    badPcr.pcrs.sha1 = { '10': ex.hex(32) }; // a SHA-256 value in the SHA-1 bank
    expectError(decodeEvidence(json(badPcr)), 'schema', '/pcrs/sha1/10');
  });

  it('bounds PCR maps: only keys "0".."23", no unknown banks', () => {
    const make = (sha256: Record<string, string>) => json({ ...ex.evidence(), pcrs: { sha256 } });
    expectError(decodeEvidence(make({ '24': ex.hex(32) })), 'schema');
    expectError(decodeEvidence(make({ '01': ex.hex(32) })), 'schema');
    expectError(decodeEvidence(make({ '-1': ex.hex(32) })), 'schema');
    expectError(decodeEvidence(json({ ...ex.evidence(), pcrs: { md5: {} } })), 'schema', '/pcrs');
    const all = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [String(i), ex.hex(32)]));
    expect(decodeEvidence(make(all))).not.toBeInstanceOf(ProtocolError);
  });

  it('refuses duplicate or out-of-range PCR indices in a selection', () => {
    const c = ex.challenge();
    expectError(codecs['device-challenge'].decode(json({ ...c, pcrSelection: { sha256: [0, 0] } })), 'schema');
    expectError(codecs['device-challenge'].decode(json({ ...c, pcrSelection: { sha256: [24] } })), 'schema');
    expectError(codecs['device-challenge'].decode(json({ ...c, pcrSelection: { sha256: [] } })), 'schema');
  });

  it('refuses control characters in free text', () => {
    const m = { ...ex.challengeRequest(), detail: 'line\n{"level":"fatal"}' };
    expectError(codecs['device-challenge-request'].decode(json(m)), 'schema', '/detail');
  });

  it('encode refuses an invalid message (a bug in the sender) with the path', () => {
    const bad = { ...ex.evidence(), challengeId: 'short' };
    expect(() => encodeEvidence(bad)).toThrowError(ProtocolError);
    expect(() => encodeEvidence(bad)).toThrowError(/\/challengeId/);
  });

  it('never throws on arbitrary bytes or arbitrary JSON (property)', () => {
    const all = Object.values(codecs) as MessageCodec<unknown>[];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        for (const codec of all) {
          const r = codec.decode(bytes);
          if (!(r instanceof ProtocolError)) expect(typeof r).toBe('object');
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 24 }), (value) => {
        const payload = json(value);
        for (const codec of all) {
          const r = codec.decode(payload);
          // Random JSON is never a valid Vigil message (they all require v: 1 and more).
          expect(r).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a mutated valid message is either refused with a reason or still valid (property)', () => {
    const kinds = examples.map(([k, make]) => ({ codec: codecs[k] as MessageCodec<unknown>, payload: (codecs[k] as MessageCodec<unknown>).encode(make()) }));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: kinds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (which, flips) => {
          const { codec, payload } = kinds[which]!;
          const mutated = Uint8Array.from(payload);
          for (const [at, byte] of flips) mutated[at % mutated.length] = byte;
          const r = codec.decode(mutated);
          if (r instanceof ProtocolError) {
            expect(r.message.length).toBeGreaterThan(0);
          } else {
            // Accepted: then it must re-encode (i.e. it really satisfies the schema).
            expect(() => codec.encode(r)).not.toThrow();
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
