/**
 * A QoS 0 PUBLISH packet (MQTT 3.1.1 §3.3) in one buffer: fixed header
 * (type 3, no DUP/QoS/RETAIN flags), Remaining Length as a variable byte
 * integer (§2.2.3), topic as a UTF-8 string with a two-byte length prefix
 * (§1.5.3), no packet identifier (QoS 0 has none, §3.3.2.2), then the payload.
 */
export function encodePublishQos0(topic: string, payload: Uint8Array): Buffer {
  const topicLength = Buffer.byteLength(topic, 'utf8');
  if (topicLength > 0xffff) throw new RangeError(`MQTT topic of ${topicLength} bytes (at most 65,535)`);
  const remaining = 2 + topicLength + payload.byteLength;
  // 268,435,455 is the largest Remaining Length four bytes can carry (§2.2.3).
  if (remaining > 268_435_455) throw new RangeError(`MQTT packet of ${remaining} bytes (at most 268,435,455)`);
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  let o = 0;
  out[o++] = 0x30;
  let r = remaining;
  do {
    let byte = r % 0x80;
    r = Math.floor(r / 0x80);
    if (r > 0) byte |= 0x80;
    out[o++] = byte;
  } while (r > 0);
  out.writeUInt16BE(topicLength, o);
  o += 2;
  o += out.write(topic, o, 'utf8');
  out.set(payload, o);
  return out;
}
