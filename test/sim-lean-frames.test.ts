/**
 * The lean MQTT client's framing and packets (bench/src/fleet/lean-mqtt),
 * pure: what the broker's bytes become however the socket cuts them.
 * Packets are encoded by the client's own encoders and, independently, by
 * hand from MQTT 3.1.1 §2.2 where the encoders have no counterpart (what
 * only a broker sends); the parser must give back exactly the packets fed
 * in, whether they arrive split at any byte or many to a read, and must
 * refuse a hostile fixed header before allocating anything for it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameParser, LeanMqttError, packets } from '../bench/src/fleet/lean-mqtt/index.js';
import { chunksAt } from './harness/chunks.js';

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly body: Buffer;
}

/** A fixed header and body by hand (§2.2): first byte, remaining length 7 bits a byte, low first. */
function frame(type: number, flags: number, body: Uint8Array): Buffer {
  const length: number[] = [];
  let n = body.length;
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    length.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([(type << 4) | flags, ...length]), body]);
}

/** Feeds `chunks` to a fresh parser; the frames it emits, bodies copied (a body is a view of the chunk). */
function parse(chunks: readonly Buffer[], max = 1 << 20): Frame[] {
  const out: Frame[] = [];
  const parser = new FrameParser(max, (type, flags, body) => out.push({ type, flags, body: Buffer.from(body) }));
  for (const c of chunks) parser.feed(c);
  expect(parser.partial).toBe(false);
  return out;
}

/** The frames a packet stream holds, read independently of the parser: each header's length walked by hand. */
function expected(stream: Buffer): Frame[] {
  const out: Frame[] = [];
  let at = 0;
  while (at < stream.length) {
    const first = stream[at++]!;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const b = stream[at++]!;
      length += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
    }
    out.push({ type: first >> 4, flags: first & 0x0f, body: stream.subarray(at, at + length) });
    at += length;
  }
  return out;
}

const topicArb = fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' });
const payloadArb = fc.uint8Array({ maxLength: 300 });

/** A packet a broker may send a client (§2.2.1), as bytes. */
const brokerPacketArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({ topic: topicArb, payload: payloadArb, qos: fc.constantFrom<0 | 1>(0, 1), id: fc.integer({ min: 1, max: 0xffff }) }).map(({ topic, payload, qos, id }) => packets.encodePublish(packets.encodeString(topic), payload, qos, id)),
  fc.integer({ min: 1, max: 0xffff }).map((id) => packets.encodePuback(id)),
  fc.constant(frame(packets.PacketType.CONNACK, 0, Uint8Array.of(0, 0))),
  fc.constant(frame(packets.PacketType.PINGRESP, 0, new Uint8Array(0))),
  fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.array(fc.constantFrom(0, 1, 0x80), { minLength: 1, maxLength: 4 })).map(([id, codes]) => frame(packets.PacketType.SUBACK, 0, Uint8Array.of(id >> 8, id & 0xff, ...codes))),
);

describe('frame parser', () => {
  it('gives back every packet of a stream split at every byte boundary, and fed one byte at a time', () => {
    const stream = Buffer.concat([
      frame(packets.PacketType.CONNACK, 0, Uint8Array.of(0, 0)),
      frame(packets.PacketType.SUBACK, 0, Uint8Array.of(0, 1, 1, 0x80)),
      packets.encodePublish(packets.encodeString('vigil/v1/devices/cam-1/challenge'), Buffer.alloc(200, 0x61), 1, 7),
      packets.encodePuback(7),
      packets.encodePublish(packets.encodeString('vigil/v1/fleet/revocations'), '{"v":1}', 0, 0),
      frame(packets.PacketType.PINGRESP, 0, new Uint8Array(0)),
    ]);
    const want = expected(stream);
    expect(want.map((f) => f.type)).toEqual([2, 9, 3, 4, 3, 13]);
    for (let i = 0; i <= stream.length; i++) expect(parse([stream.subarray(0, i), stream.subarray(i)]), `split at ${i}`).toEqual(want);
    expect(parse([...stream].map((b) => Buffer.from([b])))).toEqual(want);
  });

  it('gives back any broker packet stream however it is chunked (property)', () => {
    fc.assert(
      fc.property(fc.array(brokerPacketArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (list, cuts) => {
        const stream = Buffer.concat(list);
        const got = parse(chunksAt(stream, cuts));
        expect(got).toEqual(expected(stream));
        expect(got).toHaveLength(list.length);
      }),
    );
  });

  it('reads every remaining-length size right, at the one-to-four-byte boundaries (§2.2.3)', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const body = Buffer.alloc(size, 0x5a);
      const bytes = frame(packets.PacketType.PUBLISH, 0, body);
      const [got] = parse(chunksAt(bytes, [1, 2, 3, 4, 5]), 4 << 20);
      expect(got?.body.length, `size ${size}`).toBe(size);
      expect(got?.body.equals(body)).toBe(true);
    }
  });

  it('refuses a remaining length over its bound as soon as the length is read: nothing allocated, nothing waited for', () => {
    // 268,435,455 bytes claimed (the four-byte maximum), no body sent: the error comes from the header alone.
    const parser = new FrameParser(1 << 20, () => expect.unreachable('no frame'));
    const error = captured(() => parser.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])));
    expect(error).toBeInstanceOf(LeanMqttError);
    expect((error as LeanMqttError).code).toBe('too-large');
    // The stream cannot be re-synchronised: every later read fails the same way.
    expect(captured(() => parser.feed(Buffer.from([0xd0, 0x00])))).toBe(error);
  });

  it('bounds at exactly the limit: the limit itself is accepted, one byte more is not', () => {
    expect(parse([frame(3, 0, Buffer.alloc(100, 1))], 100)).toHaveLength(1);
    const error = captured(() => new FrameParser(99, () => undefined).feed(frame(3, 0, Buffer.alloc(100, 1))));
    expect((error as LeanMqttError).code).toBe('too-large');
  });

  it('refuses a remaining length of five bytes and the reserved packet types 0 and 15', () => {
    const cases: Array<[string, Buffer]> = [
      ['five-byte length', Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])],
      ['type 0', Buffer.from([0x00, 0x00])],
      ['type 15', Buffer.from([0xf0, 0x00])],
    ];
    for (const [what, bytes] of cases) {
      const error = captured(() => new FrameParser(1 << 20, () => undefined).feed(bytes));
      expect((error as LeanMqttError | undefined)?.code, what).toBe('malformed');
    }
  });

  it('never throws anything but LeanMqttError on arbitrary bytes, and never emits a body over the bound (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const parser = new FrameParser(64, (_t, _f, body) => expect(body.length).toBeLessThanOrEqual(64));
        try {
          for (const c of chunksAt(Buffer.from(bytes), cuts)) parser.feed(c);
        } catch (err) {
          expect(err).toBeInstanceOf(LeanMqttError);
        }
      }),
    );
  });
});

describe('packets', () => {
  it('PUBLISH round-trips through the parser: topic, QoS, packet id, payload (property)', () => {
    fc.assert(
      fc.property(topicArb, fc.oneof(payloadArb, fc.string({ maxLength: 200 })), fc.constantFrom<0 | 1>(0, 1), fc.integer({ min: 1, max: 0xffff }), (topic, payload, qos, id) => {
        const [f] = parse([packets.encodePublish(packets.encodeString(topic), payload, qos, id)]);
        const p = packets.decodePublish(f!.flags, f!.body);
        expect(p.topic).toBe(topic);
        expect(p.qos).toBe(qos);
        expect(p.packetId).toBe(qos === 1 ? id : 0);
        expect(p.payload.equals(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload))).toBe(true);
      }),
    );
  });

  it('CONNECT and SUBSCRIBE carry what MQTT 3.1.1 asks (§3.1, §3.8)', () => {
    const connect = packets.encodeConnect({ clientId: 'cam-7', keepaliveSeconds: 60 });
    const [c] = parse([connect]);
    expect(c!.type).toBe(packets.PacketType.CONNECT);
    // "MQTT", level 4, clean session, keep-alive 60, client id.
    expect([...c!.body]).toEqual([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 5, ...Buffer.from('cam-7')]);
    const [s] = parse([packets.encodeSubscribe(0x1234, ['a/b', 'c'], 1)]);
    expect(s!.type).toBe(packets.PacketType.SUBSCRIBE);
    expect(s!.flags).toBe(0x02); // §3.8.1: reserved bits 0010
    expect([...s!.body]).toEqual([0x12, 0x34, 0, 3, 0x61, 0x2f, 0x62, 1, 0, 1, 0x63, 1]);
  });

  it('refuses what a broker must not send: QoS 2, QoS 1 with packet id 0, a topic longer than the packet, wrong fixed flags', () => {
    const codeOf = (f: () => unknown) => (captured(f) as LeanMqttError | undefined)?.code;
    expect(codeOf(() => packets.decodePublish(0x04, Buffer.from([0, 1, 0x61, 0, 1])))).toBe('protocol');
    expect(codeOf(() => packets.decodePublish(0x02, Buffer.from([0, 1, 0x61, 0, 0])))).toBe('protocol');
    expect(codeOf(() => packets.decodePublish(0x00, Buffer.from([0, 9, 0x61])))).toBe('protocol');
    expect(codeOf(() => packets.checkFixedFlags(packets.PacketType.PUBACK, 0x02))).toBe('protocol');
    expect(codeOf(() => packets.decodeConnack(Buffer.from([0x02, 0])))).toBe('protocol');
    expect(codeOf(() => packets.decodeSuback(Buffer.from([0, 1, 0x03])))).toBe('protocol');
    expect(codeOf(() => packets.encodeString('x'.repeat(70_000)))).toBe('argument');
  });
});

function captured(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}
