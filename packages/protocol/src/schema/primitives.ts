import Type, { type TObject, type TProperties, type TSchema } from 'typebox';
import {
  BOOTSTRAP_ID_PATTERN,
  CERTIFICATE_SERIAL_PATTERN,
  DEVICE_ID_PATTERN,
  RANDOM_ID_PATTERN,
} from '../ids.js';
import { DIGEST_SIZE, HASH_ALGORITHMS, type HashAlgorithm as HashAlgorithmName } from '../hash-algorithms.js';

/**
 * Building blocks shared by every message schema. Every string has a
 * maxLength, every array a maxItems and every map a maxProperties, so the
 * validator bounds the work and memory a message can cause.
 */

/** A closed object: unknown properties are a schema error (no silent extras). */
export function Struct<P extends TProperties>(properties: P, options: { description?: string } = {}): TObject<P> {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** Protocol version field: every message carries `v: 1`. */
export const Version = Type.Literal(1, { description: 'protocol version' });

/**
 * Free text for humans (messages, labels, facts): no control characters, so
 * it cannot forge log lines or terminal escapes.
 */
export function Text(maxLength: number, options: { description?: string } = {}) {
  return Type.String({ ...options, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
}

/** Kebab-case machine code (reason codes). */
export const Code = Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', maxLength: 64 });

/**
 * True if `s` is canonical standard base64 (RFC 4648 §4: alphabet
 * `A-Z a-z 0-9 + /`, `=` padding to a multiple of 4, zero pad bits).
 * Checked by decoding and re-encoding with node's SIMD base64 codec: that is
 * exact (the lenient decoder skips bad characters, so any deviation changes
 * the re-encoding) and about ten times faster than a regular expression over
 * random base64, where a character-class match mispredicts a branch per
 * character. A `^(?:[...]{4})*...$` pattern would also overflow V8's
 * backtracking stack on multi-megabyte strings.
 */
export function isBase64(s: string): boolean {
  return Buffer.from(s, 'base64').toString('base64') === s;
}

/** Number of base64 characters needed for `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** Bytes encoded by a string that {@link isBase64} accepted. */
export function base64DecodedLength(s: string): number {
  let padding = 0;
  if (s.endsWith('==')) padding = 2;
  else if (s.endsWith('=')) padding = 1;
  return (s.length / 4) * 3 - padding;
}

/** Binary data as canonical padded base64, at most `maxBytes` decoded bytes. */
export function Base64(maxBytes: number, options: { description?: string } = {}) {
  return Type.Refine(
    Type.String({ ...options, contentEncoding: 'base64', maxLength: base64Length(maxBytes) }),
    (s) => isBase64(s) && base64DecodedLength(s) <= maxBytes,
    () => `must be standard padded base64 of at most ${maxBytes} bytes`,
  );
}

export { HASH_ALGORITHMS, DIGEST_SIZE };
export type HashAlgorithm = HashAlgorithmName;
export const HashAlgorithm = Type.Enum(HASH_ALGORITHMS);

/**
 * A digest as lowercase hex of exactly `bytes` bytes. The pattern fixes the
 * length; there is no `minLength` beside it because TypeBox checks a
 * `minLength` by counting code points (a walk of the whole string) unless
 * the string is twice as long, so every valid digest paid for it: a third of
 * the time checking evidence took went to PCR values. `maxLength` stays: it
 * costs one comparison on a valid string and bounds the pattern's work.
 */
export function HexBytes(bytes: number, options: { description?: string } = {}) {
  const n = bytes * 2;
  return Type.String({ ...options, pattern: `^[0-9a-f]{${n}}$`, maxLength: n });
}

/** SHA-256 digest, lowercase hex. */
export const Sha256Hex = HexBytes(32);

/** Unix time in milliseconds (integer). */
export const EpochMs = Type.Integer({ minimum: 0, maximum: 8.64e15, description: 'Unix time in milliseconds' });

/** A non-negative count or offset that fits in a TPM UINT32. */
export const Uint32 = Type.Integer({ minimum: 0, maximum: 0xffff_ffff });

/** PCR index: 0..23, the PC Client platform's 24 PCRs (TCG PC Client PTP §4.1). */
export const PCR_COUNT = 24;
export const PcrIndex = Type.Integer({ minimum: 0, maximum: PCR_COUNT - 1 });
/** A PCR index used as a JSON object key: "0".."23" without leading zeros. */
export const PCR_INDEX_KEY_PATTERN = '^(?:[0-9]|1[0-9]|2[0-3])$';

export const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63 });
// As in HexBytes: the patterns fix the shortest length, so no minLength.
export const BootstrapId = Type.String({ pattern: BOOTSTRAP_ID_PATTERN, maxLength: 64 });
export const RandomId = Type.String({ pattern: RANDOM_ID_PATTERN, maxLength: 96 });
export const CertificateSerial = Type.String({ pattern: CERTIFICATE_SERIAL_PATTERN, maxLength: 40 });

/** A PEM block of the given label, bounded. */
export function Pem(label: string, maxLength: number) {
  return Type.String({
    maxLength,
    pattern: `^-----BEGIN ${label}-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END ${label}-----\\r?\\n?$`,
  });
}

/** Re-export for schema files: the TypeBox base type. */
export type { TSchema };
