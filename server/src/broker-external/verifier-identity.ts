import { hostname } from 'node:os';
import { isDeviceId } from '@vigil/protocol/core';

/**
 * Who a verifier replica is at the external broker. Mosquitto's
 * `use_identity_as_username` makes a client certificate's subject CN the
 * MQTT username, and the dynamic-security plugin grants rights by username.
 * Device certificates have CN = device id, and device ids cannot contain
 * `:` (`DEVICE_ID_PATTERN`), so `vigil:verifier:<name>` can never be a
 * device's username: no enrolled device, whatever name its token fixed,
 * can obtain a verifier's rights.
 */
export const VERIFIER_USERNAME_PREFIX = 'vigil:verifier:';

/** SAN URI of a verifier replica's client certificate (informational; the broker reads the CN). */
export const VERIFIER_URI_PREFIX = 'urn:vigil:verifier:';

/** The replica's name: configured, else this host's name lowercased to device-id syntax. */
export function replicaNameOf(configured: string): string {
  if (configured !== '') return configured;
  const fromHost = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return isDeviceId(fromHost) ? fromHost : 'verifier';
}

/** The MQTT username (certificate CN) of replica `name`. */
export function verifierUsername(name: string): string {
  return VERIFIER_USERNAME_PREFIX + name;
}
