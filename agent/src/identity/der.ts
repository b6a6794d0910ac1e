/**
 * The few DER encodings (ITU-T X.690 §8, §10) a self-signed X.509
 * certificate needs, and nothing else: the agent writes exactly one kind of
 * certificate (`self-signed-certificate.ts`) and parses none, so a general
 * ASN.1 toolkit (~3 MB of heap for @peculiar/x509 and its dependencies, kept
 * for the life of the daemon once loaded) is not worth carrying.
 */

/** One TLV: tag octet, definite length (short or long form, X.690 §8.1.3), contents. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) {
    length = Buffer.of(n);
  } else {
    const octets: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
    length = Buffer.of(0x80 | octets.length, ...octets);
  }
  return Buffer.concat([Buffer.of(tag), length, body]);
}

export const sequence = (...items: readonly Uint8Array[]): Buffer => tlv(0x30, ...items);
export const set = (...items: readonly Uint8Array[]): Buffer => tlv(0x31, ...items);
export const nullValue = (): Buffer => Buffer.of(0x05, 0x00);
export const boolean = (value: boolean): Buffer => Buffer.of(0x01, 0x01, value ? 0xff : 0x00);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
/** BIT STRING of whole octets (no unused bits, X.690 §8.6.2). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.of(0), bytes);
/** [n] EXPLICIT, constructed context-specific tag. */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner);

/** INTEGER from unsigned big-endian magnitude: minimal octets, a 0x00 prefix when the top bit is set (X.690 §8.3). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = Buffer.from(magnitude.subarray(start));
  return tlv(0x02, bytes.length === 0 ? Buffer.of(0) : bytes[0]! & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes);
}

export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.of(value));

/** OBJECT IDENTIFIER from dotted text (X.690 §8.19: first two arcs in one subidentifier, base-128). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new RangeError(`not an OID: ${dotted}`);
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/**
 * RFC 5280 §4.1.2.5 Time: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050; whole seconds, always UTC.
 */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`a certificate time must be in 1950..9999, got ${year}`);
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year < 2050 ? tlv(0x17, Buffer.from(`${two(year % 100)}${rest}`, 'ascii')) : tlv(0x18, Buffer.from(`${year}${rest}`, 'ascii'));
}
