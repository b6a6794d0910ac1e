import { randomBytes } from 'node:crypto';

/** Serial length in bytes: RFC 5280 §4.1.2.2 allows up to 20; CA/B BR ask for ≥ 64 random bits. */
const SERIAL_BYTES = 16;

/**
 * A fresh certificate serial: 16 random bytes, lowercase hex. The first byte
 * is kept in 0x01..0x7f so the DER INTEGER is positive (RFC 5280 §4.1.2.2) and
 * has no leading zero octet, which makes the hex form canonical: exactly 32
 * characters, identical to `normalizeSerial` of any other rendering of it.
 */
export function randomSerial(): string {
  const bytes = randomBytes(SERIAL_BYTES);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex');
}

/**
 * Canonical form of a serial number so that the store, the CRL and the
 * broker's revocation set compare equal strings: lowercase hex, no `:`
 * separators, no leading zero octets, even length. OpenSSL/Node print serials
 * in uppercase, @peculiar/x509 in lowercase; this reconciles them.
 * Returns undefined for anything that is not hex.
 */
export function normalizeSerial(serial: string): string | undefined {
  let hex = serial.replaceAll(':', '').toLowerCase();
  if (hex.length === 0 || hex.length > 128 || !/^[0-9a-f]+$/.test(hex)) return undefined;
  if (hex.length % 2 === 1) hex = '0' + hex;
  let start = 0;
  while (start < hex.length - 2 && hex.startsWith('00', start)) start += 2;
  return hex.slice(start);
}
