import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { accessPolicyFor } from '../src/broker/access.js';
import { MqttFrameScanner } from '../src/broker/frame-scanner.js';
import { encodePublishQos0 } from '../src/broker/publish-packet.js';
import { KeyedRateLimiter, TokenBucket } from '../src/broker/token-bucket.js';
import { MemoryRevocationList } from '../src/broker/revocation-list.js';
import { chunksAt } from '../../test/harness/chunks.js';

/** An MQTT packet of the given type with a body of `bodyLength` bytes (MQTT 3.1.1 §2.2.3 length encoding). */
function packet(type: number, bodyLength: number): Uint8Array {
  const length: number[] = [];
  let x = bodyLength;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    length.push(byte);
  } while (x > 0);
  const out = new Uint8Array(1 + length.length + bodyLength);
  out[0] = type << 4;
  out.set(length, 1);
  out.fill(0xa5, 1 + length.length); // body bytes that look like headers must not confuse the scanner
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('MqttFrameScanner', () => {
  it('finds every packet boundary however the stream is chunked, and accepts packets within the limits', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 20 }), fc.array(fc.nat()), (sizes, cuts) => {
        const stream = concat(sizes.map((s, i) => packet(i === 0 ? 1 : 3, s)));
        const scanner = new MqttFrameScanner(30_000, 30_000);
        for (const chunk of chunksAt(stream, cuts)) expect(scanner.scan(chunk)).toBeUndefined();
        expect(scanner.packets).toBe(sizes.length);
      }),
      { numRuns: 300 },
    );
  });

  it('stops at the first packet over its limit, reporting its announced size, before its body arrives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 10 }),
        fc.integer({ min: 1001, max: 268_435_455 - 5 }),
        fc.nat(),
        (before, bigBody, cut) => {
          // Only the fixed header of the big packet is sent: the verdict must not need its body.
          const header = Uint8Array.from([0x30]);
          const lengthBytes: number[] = [];
          let x = bigBody;
          do {
            let b = x % 128;
            x = Math.floor(x / 128);
            if (x > 0) b |= 0x80;
            lengthBytes.push(b);
          } while (x > 0);
          const stream = concat([packet(1, 10), ...before.map((s) => packet(3, s)), header, Uint8Array.from(lengthBytes)]);
          const scanner = new MqttFrameScanner(1000, 1000 + 5);
          let violation;
          for (const chunk of chunksAt(stream, [cut])) violation ??= scanner.scan(chunk);
          const expectedSize = 1 + lengthBytes.length + bigBody;
          if (expectedSize > 1005) {
            expect(violation).toEqual({ reason: 'packet-too-large', size: expectedSize, limit: 1005, packetType: 3 });
          } else {
            expect(violation).toBeUndefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('applies the first-packet limit to CONNECT only', () => {
    const scanner = new MqttFrameScanner(100, 10_000);
    expect(scanner.scan(packet(1, 200))).toMatchObject({ reason: 'packet-too-large', limit: 100, packetType: 1 });
    const ok = new MqttFrameScanner(100, 10_000);
    expect(ok.scan(concat([packet(1, 50), packet(3, 5000)]))).toBeUndefined();
  });

  it('rejects a remaining length longer than four bytes', () => {
    const scanner = new MqttFrameScanner(100, 100);
    expect(scanner.scan(Uint8Array.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]))).toEqual({ reason: 'malformed-packet', detail: 'remaining length longer than 4 bytes' });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (parts) => {
        const scanner = new MqttFrameScanner(64, 1024);
        for (const p of parts) {
          const v = scanner.scan(p);
          if (v) {
            expect(['packet-too-large', 'malformed-packet']).toContain(v.reason);
            break;
          }
        }
      }),
    );
  });
});

describe('token buckets', () => {
  it('allow a burst, then the refill rate', () => {
    const bucket = new TokenBucket(2, 5, 0);
    const first = Array.from({ length: 8 }, () => bucket.take(0));
    expect(first.filter(Boolean)).toHaveLength(5);
    expect(bucket.take(499)).toBe(false); // 0.998 tokens refilled
    expect(bucket.take(500)).toBe(true); // one token after 500 ms at 2/s
    expect(bucket.take(500)).toBe(false);
    expect(bucket.isFull(10_000)).toBe(true);
  });

  it('per key: independent, first refusal reported once, full buckets swept, size bounded', () => {
    const limiter = new KeyedRateLimiter(1, 2, 3);
    expect(limiter.take('a', 0).allowed).toBe(true);
    expect(limiter.take('a', 0).allowed).toBe(true);
    expect(limiter.take('a', 0)).toEqual({ allowed: false, firstRefusal: true });
    expect(limiter.take('a', 0)).toEqual({ allowed: false, firstRefusal: false });
    expect(limiter.take('b', 0).allowed).toBe(true);
    limiter.take('c', 0);
    limiter.take('d', 0); // evicts the oldest key
    expect(limiter.size).toBe(3);
    limiter.sweep(60_000);
    expect(limiter.size).toBe(0);
  });
});

describe('access policy', () => {
  const id = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/);
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;

  it('gives a device nothing of another device, nothing of enrollment, no wildcard', () => {
    fc.assert(
      fc.property(id, id, (a, b) => {
        fc.pre(a !== b);
        const pa = accessPolicyFor({ kind: 'device', deviceId: a, serial: '01' });
        for (const topic of [...pa.publish, ...pa.subscribe]) {
          expect(topic.includes(`/devices/${b}/`)).toBe(false);
          expect(topic).not.toMatch(/[+#]|^\$|\/enroll\//);
          expect(topic === 'vigil/v1/fleet/revocations' || topic.startsWith(`vigil/v1/devices/${a}/`)).toBe(true);
        }
        expect([...pa.publish].every((t) => t.endsWith('/evidence') || t.endsWith('/challenge/request'))).toBe(true);
      }),
    );
  });

  it('gives a bootstrap client only its own enroll topics', () => {
    fc.assert(
      fc.property(hex64, (bid) => {
        const p = accessPolicyFor({ kind: 'bootstrap', bootstrapId: bid, publicKey: key });
        expect([...p.publish].sort()).toEqual([`vigil/v1/enroll/${bid}/proof`, `vigil/v1/enroll/${bid}/request`]);
        expect([...p.subscribe].sort()).toEqual([`vigil/v1/enroll/${bid}/challenge`, `vigil/v1/enroll/${bid}/result`]);
      }),
    );
  });
});

describe('MemoryRevocationList', () => {
  it('compares serials in canonical form and keeps certificate revocations across reinstatement', () => {
    const list = new MemoryRevocationList({ serials: ['00AB:CD'] });
    expect(list.isRevoked('abcd')).toBe(true);
    list.revoke('dev-1', ['0F']);
    expect(list.isDeviceRevoked('dev-1')).toBe(true);
    expect(list.isRevoked('0f')).toBe(true);
    list.reinstate('dev-1');
    expect(list.isDeviceRevoked('dev-1')).toBe(false);
    expect(list.isRevoked('0f')).toBe(true);
  });
});

describe('encodePublishQos0', () => {
  // mqtt-packet (the parser mqtt.js uses) is the independent reader.
  function parseAll(bytes: Buffer): Array<Record<string, unknown>> {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const out: Array<Record<string, unknown>> = [];
    const errors: Error[] = [];
    parser.on('packet', (p) => out.push(p as unknown as Record<string, unknown>));
    parser.on('error', (e) => errors.push(e));
    parser.parse(bytes);
    expect(errors).toEqual([]);
    return out;
  }

  it('is a QoS 0 PUBLISH that an independent parser reads back, at every Remaining Length size', () => {
    // Payload sizes either side of the 1-, 2- and 3-byte Remaining Length limits (MQTT 3.1.1 §2.2.3).
    for (const size of [0, 1, 100, 127 - 9, 128 - 9, 16_383 - 9, 16_384 - 9, 2_097_151 - 9, 2_097_152 - 9]) {
      const payload = Buffer.alloc(size, 0x5a);
      const [p, ...rest] = parseAll(encodePublishQos0('vigil/x', payload));
      expect(rest).toEqual([]);
      expect(p).toMatchObject({ cmd: 'publish', topic: 'vigil/x', qos: 0, dup: false, retain: false });
      expect(Buffer.compare(p!['payload'] as Buffer, payload)).toBe(0);
    }
  });

  it('any topic and payload round-trip, also several packets back to back', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ topic: fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }), payload: fc.uint8Array({ maxLength: 300 }) }), { minLength: 1, maxLength: 4 }), (msgs) => {
        const packets = parseAll(Buffer.concat(msgs.map((m) => encodePublishQos0(m.topic, m.payload))));
        expect(packets.map((p) => [p['topic'], Buffer.from(p['payload'] as Buffer).toString('hex')])).toEqual(msgs.map((m) => [m.topic, Buffer.from(m.payload).toString('hex')]));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a topic longer than its two-byte length can say', () => {
    expect(() => encodePublishQos0('t'.repeat(65_536), new Uint8Array(0))).toThrow(RangeError);
  });
});
