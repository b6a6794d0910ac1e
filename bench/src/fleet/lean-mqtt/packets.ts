/**
 * MQTT 3.1.1 (OASIS, 2014) control packets, the few a device needs: the
 * encoders for what a client sends and the decoders for the bodies of what
 * a broker sends. Framing (the fixed header's remaining length) is
 * `frame-parser.ts`; this file sees one packet at a time.
 *
 * Every encoder returns one buffer holding the whole packet, so a turn's
 * packets can go out in one socket write.
 */
import { LeanMqttError } from './errors.js';

/** Control packet types (§2.2.1), the high nibble of the first byte. */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

export type QoS = 0 | 1;

/** The largest remaining length the four-byte encoding can carry (§2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** CONNACK return codes (§3.2.2.3), for error messages. */
const CONNACK_REASONS: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export function connackReason(code: number): string {
  return CONNACK_REASONS[code] ?? `return code ${code}`;
}

/** PINGREQ (§3.12) and DISCONNECT (§3.14): a fixed header and nothing else. */
export const PINGREQ = Buffer.from([PacketType.PINGREQ << 4, 0]);
export const DISCONNECT = Buffer.from([PacketType.DISCONNECT << 4, 0]);

/** Bytes the remaining-length field of `n` takes (§2.2.3). */
function lengthSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : 4;
}

/** Writes the fixed header (§2.2): the first byte, then the remaining length, 7 bits a byte, low first. Returns the offset after it. */
function writeFixedHeader(out: Buffer, first: number, remaining: number): number {
  if (remaining > MAX_REMAINING_LENGTH) throw new LeanMqttError('argument', `a packet of ${remaining} bytes is over MQTT's remaining-length limit`);
  out[0] = first;
  let at = 1;
  let n = remaining;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out[at++] = byte;
  } while (n > 0);
  return at;
}

/**
 * A UTF-8 string as MQTT carries it (§1.5.3): two length bytes, big-endian,
 * then the bytes. A topic a device publishes on again and again is encoded
 * once and reused.
 */
export function encodeString(s: string): Buffer {
  const size = Buffer.byteLength(s, 'utf8');
  if (size > 0xffff) throw new LeanMqttError('argument', `a string of ${size} bytes does not fit MQTT's two-byte length`);
  const out = Buffer.allocUnsafe(2 + size);
  out.writeUInt16BE(size, 0);
  out.write(s, 2, 'utf8');
  return out;
}

export interface ConnectOptions {
  readonly clientId: string;
  /** Seconds (§3.1.2.10); 0 turns keep-alive off. */
  readonly keepaliveSeconds: number;
}

/** CONNECT (§3.1): protocol "MQTT" level 4, clean session, no will, no user name or password. */
export function encodeConnect(options: ConnectOptions): Buffer {
  if (!Number.isInteger(options.keepaliveSeconds) || options.keepaliveSeconds < 0 || options.keepaliveSeconds > 0xffff) {
    throw new LeanMqttError('argument', `keep-alive must be 0-65535 s, got ${options.keepaliveSeconds}`);
  }
  const protocol = encodeString('MQTT');
  const clientId = encodeString(options.clientId);
  const remaining = protocol.length + 1 + 1 + 2 + clientId.length;
  const out = Buffer.allocUnsafe(1 + lengthSize(remaining) + remaining);
  let at = writeFixedHeader(out, PacketType.CONNECT << 4, remaining);
  at += protocol.copy(out, at);
  out[at++] = 4; // protocol level 4 = 3.1.1 (§3.1.2.2)
  out[at++] = 0x02; // connect flags: clean session only (§3.1.2.4)
  out.writeUInt16BE(options.keepaliveSeconds, at);
  at += 2;
  clientId.copy(out, at);
  return out;
}

/** SUBSCRIBE (§3.8): fixed-header flags 0b0010, a packet id, then each filter with its requested QoS. */
export function encodeSubscribe(packetId: number, filters: readonly string[], qos: QoS): Buffer {
  if (filters.length === 0) throw new LeanMqttError('argument', 'SUBSCRIBE needs at least one topic filter (§3.8.3)');
  const encoded = filters.map(encodeString);
  const remaining = 2 + encoded.reduce((n, f) => n + f.length + 1, 0);
  const out = Buffer.allocUnsafe(1 + lengthSize(remaining) + remaining);
  let at = writeFixedHeader(out, (PacketType.SUBSCRIBE << 4) | 0x02, remaining);
  out.writeUInt16BE(packetId, at);
  at += 2;
  for (const f of encoded) {
    at += f.copy(out, at);
    out[at++] = qos;
  }
  return out;
}

/**
 * PUBLISH (§3.3) to a topic already in MQTT string form (`encodeString`),
 * never DUP or RETAIN. A string payload is written as UTF-8 straight into
 * the packet: the evidence JSON is copied once, not twice.
 */
export function encodePublish(topic: Buffer, payload: Uint8Array | string, qos: QoS, packetId: number): Buffer {
  const payloadSize = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
  const remaining = topic.length + (qos > 0 ? 2 : 0) + payloadSize;
  const out = Buffer.allocUnsafe(1 + lengthSize(remaining) + remaining);
  let at = writeFixedHeader(out, (PacketType.PUBLISH << 4) | (qos << 1), remaining);
  at += topic.copy(out, at);
  if (qos > 0) {
    out.writeUInt16BE(packetId, at);
    at += 2;
  }
  if (typeof payload === 'string') out.write(payload, at, 'utf8');
  else out.set(payload, at);
  return out;
}

/** PUBACK (§3.4): the answer to a QoS 1 PUBLISH, naming its packet id. */
export function encodePuback(packetId: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out[0] = PacketType.PUBACK << 4;
  out[1] = 2;
  out.writeUInt16BE(packetId, 2);
  return out;
}

/**
 * The flags §2.2.2 fixes for every packet a broker sends but PUBLISH
 * (PUBREL's 0b0010 included for completeness: a client that never sends
 * QoS 2 never gets one).
 */
export function checkFixedFlags(type: number, flags: number): void {
  const expected = type === PacketType.PUBREL ? 0x02 : 0;
  if (type !== PacketType.PUBLISH && flags !== expected) {
    throw new LeanMqttError('protocol', `packet type ${type} with flags 0x${flags.toString(16)} (MQTT 3.1.1 §2.2.2 fixes them at 0x${expected.toString(16)})`);
  }
}

export interface Connack {
  readonly sessionPresent: boolean;
  readonly returnCode: number;
}

/** CONNACK body (§3.2): acknowledge flags (only bit 0 may be set), return code. */
export function decodeConnack(body: Buffer): Connack {
  if (body.length !== 2 || (body[0]! & 0xfe) !== 0) throw new LeanMqttError('protocol', `malformed CONNACK (${body.length} bytes)`);
  return { sessionPresent: body[0] === 1, returnCode: body[1]! };
}

/** The packet id that is the whole body of PUBACK (§3.4) and UNSUBACK. */
export function decodeAckId(body: Buffer, what: string): number {
  if (body.length !== 2) throw new LeanMqttError('protocol', `malformed ${what}: ${body.length} bytes, not 2`);
  return body.readUInt16BE(0);
}

export interface Suback {
  readonly packetId: number;
  /** Granted QoS per filter, or 0x80 for a refused one (§3.9.3). */
  readonly codes: readonly number[];
}

export function decodeSuback(body: Buffer): Suback {
  if (body.length < 3) throw new LeanMqttError('protocol', `malformed SUBACK (${body.length} bytes)`);
  const codes: number[] = [];
  for (let i = 2; i < body.length; i++) {
    const c = body[i]!;
    if (c !== 0 && c !== 1 && c !== 2 && c !== 0x80) throw new LeanMqttError('protocol', `SUBACK return code 0x${c.toString(16)} is reserved (§3.9.3)`);
    codes.push(c);
  }
  return { packetId: body.readUInt16BE(0), codes };
}

export interface IncomingPublish {
  readonly topic: string;
  readonly qos: QoS;
  /** 0 for QoS 0 (which carries none). */
  readonly packetId: number;
  /** A view into the received bytes, not a copy. */
  readonly payload: Buffer;
}

/**
 * PUBLISH body (§3.3.2): the topic name, the packet id when QoS > 0, the
 * payload. QoS 0 and 1 are accepted (the server may publish either); QoS 2
 * is refused, since this client subscribes at QoS 1 at most and a broker
 * never sends above the granted QoS (§3.8.4).
 */
export function decodePublish(flags: number, body: Buffer): IncomingPublish {
  const qos = (flags >> 1) & 0x03;
  if (qos > 1) throw new LeanMqttError('protocol', `PUBLISH at QoS ${qos} (this client subscribes at QoS 1 at most)`);
  if (body.length < 2) throw new LeanMqttError('protocol', 'PUBLISH without a topic name');
  const topicSize = body.readUInt16BE(0);
  let at = 2 + topicSize;
  if (at + (qos > 0 ? 2 : 0) > body.length) throw new LeanMqttError('protocol', `PUBLISH topic length ${topicSize} runs past the packet (${body.length} bytes)`);
  const topic = body.toString('utf8', 2, at);
  let packetId = 0;
  if (qos > 0) {
    packetId = body.readUInt16BE(at);
    at += 2;
    if (packetId === 0) throw new LeanMqttError('protocol', 'PUBLISH at QoS 1 with packet id 0 (§2.3.1)');
  }
  return { topic, qos: qos as QoS, packetId, payload: body.subarray(at) };
}
