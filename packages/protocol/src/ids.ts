import { createHash } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { randomPublicBytes } from './random-pool.js';

/**
 * Identifier syntax. Every id that appears in an MQTT topic level is checked
 * against one of these patterns, so a topic can never be widened by an id:
 * none of them admits `/` (level separator), `+` or `#` (wildcards, MQTT 3.1.1
 * §4.7.1), a leading `$` (reserved topics, §4.7.2), NUL (forbidden in topic
 * names, §4.7.3), whitespace or upper case (so two ids never differ only by case).
 */

/**
 * Device id: 1 to 63 characters of `a-z 0-9 . _ -`, starting with a letter or
 * digit. Short enough for a DNS label, safe in topics, in the certificate SAN
 * URI `urn:vigil:device:<id>`, in file names and in log lines.
 */
export const DEVICE_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';

/** Bootstrap id: lowercase hex SHA-256 of the bootstrap key's SubjectPublicKeyInfo DER. */
export const BOOTSTRAP_ID_PATTERN = '^[0-9a-f]{64}$';

/**
 * Server-chosen ids (attestation challenges, enrollment sessions): 16 to 96
 * base64url characters, opaque to devices. {@link randomId} makes 22 (128
 * random bits); the server's sealed challenge ids are 38-96 (their expiry,
 * PCR selection and TPM-clock anchor under a MAC).
 */
export const RANDOM_ID_PATTERN = '^[A-Za-z0-9_-]{16,96}$';

/** X.509 certificate serial number as lowercase hex, at most 20 octets (RFC 5280 §4.1.2.2). */
export const CERTIFICATE_SERIAL_PATTERN = '^[0-9a-f]{1,40}$';

const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);
const bootstrapIdRe = new RegExp(BOOTSTRAP_ID_PATTERN);
const randomIdRe = new RegExp(RANDOM_ID_PATTERN);

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && deviceIdRe.test(value);
}

export function isBootstrapId(value: unknown): value is string {
  return typeof value === 'string' && bootstrapIdRe.test(value);
}

export function isRandomId(value: unknown): value is string {
  return typeof value === 'string' && randomIdRe.test(value);
}

/** A fresh random id (challenge id, enrollment session id): 128 bits, base64url. */
export function randomId(): string {
  return randomPublicBytes(16).toString('base64url');
}

/**
 * A fresh id whose first characters follow the clock (challenge ids): the
 * milliseconds since the epoch as 12 lowercase hex digits, then 96 random
 * bits as 16 base64url characters (28 characters, within
 * {@link RANDOM_ID_PATTERN}). Why: a store keeps its rows in a B-tree keyed
 * by id. Fully random keys land every insert on a different page, and a
 * challenge is consumed moments after it is made, so the same random page is
 * written twice; ids made close in time share a prefix and so share the few
 * pages at the growing end of the tree (fewer pages written per commit,
 * SQLite and PostgreSQL alike). Nothing relies on the id being unguessable:
 * a challenge is consumed only by the device it was issued to, and its
 * freshness is the nonce's.
 */
export function timeOrderedId(now: number = Date.now()): string {
  const time = Math.max(0, Math.min(Math.floor(now), 0xffff_ffff_ffff)).toString(16).padStart(12, '0');
  return time + randomPublicBytes(12).toString('base64url');
}

/**
 * The bootstrap identity of a client that has no fleet certificate yet:
 * lowercase hex SHA-256 of its public key's SubjectPublicKeyInfo DER. The
 * broker computes it from the self-signed TLS client certificate, the agent
 * from its own key, so both name the same `enroll/<bootstrapId>/...` topics.
 */
export function bootstrapIdFromSpki(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/** Prefix of device ids derived from the EK (tokens may fix another name). */
export const EK_DEVICE_ID_PREFIX = 'ek-';

/**
 * The default device id, derived from the endorsement key so that the same
 * TPM always gets the same id: `ek-` followed by the first 20 bytes (40 hex
 * characters) of SHA-256 over the EK's TPMT_PUBLIC bytes.
 *
 * SHA-256 over TPMT_PUBLIC is exactly the digest part of the EK's Name when
 * its nameAlg is SHA-256 (TPM 2.0 Part 1 §16 "Names"), which is the case for
 * every TCG EK Credential Profile template, so the id can be matched against
 * the EK Name by eye. 160 bits keeps collisions out of reach for any fleet.
 *
 * @param ekPublic the EK as carried in the enrollment request: TPM2B_PUBLIC,
 *   i.e. a 2-byte big-endian size followed by that many bytes of TPMT_PUBLIC.
 * @throws ProtocolError (`invalid-structure`) if the size prefix does not match.
 */
export function deviceIdFromEkPublic(ekPublic: Uint8Array): string {
  if (ekPublic.length < 2) {
    throw new ProtocolError('invalid-structure', 'TPM2B_PUBLIC shorter than its size field');
  }
  const size = (ekPublic[0]! << 8) | ekPublic[1]!;
  if (size === 0 || size !== ekPublic.length - 2) {
    throw new ProtocolError(
      'invalid-structure',
      `TPM2B_PUBLIC size field says ${size} bytes but ${ekPublic.length - 2} follow`,
    );
  }
  const digest = createHash('sha256').update(ekPublic.subarray(2)).digest('hex');
  return EK_DEVICE_ID_PREFIX + digest.slice(0, 40);
}
