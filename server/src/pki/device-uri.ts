import { PkiError } from './errors.js';

/**
 * A device's identity in its certificate is a SAN URI `urn:vigil:device:<id>`
 * (RFC 5280 §4.2.1.6 uniformResourceIdentifier). The subject CN repeats the id
 * for humans, but only the SAN is authoritative: a CN is free text that other
 * CAs put anything into.
 */
export const DEVICE_URI_PREFIX = 'urn:vigil:device:';

/**
 * Device ids end up in MQTT topics (`vigil/v1/devices/<id>/...`) and file
 * names, so they are restricted to characters that are inert in both: no `/`,
 * `+`, `#`, `$`, NUL, whitespace, commas or quotes.
 *
 * TODO(protocol): use `isDeviceId` from `@vigil/protocol` once it is exported;
 * this local copy is the same pattern.
 */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

export function assertValidDeviceId(id: string): void {
  if (!isValidDeviceId(id)) {
    throw new PkiError('invalid-device-id', `device id ${JSON.stringify(id.slice(0, 80))} does not match ${DEVICE_ID_PATTERN.source}`);
  }
}

export function deviceUri(deviceId: string): string {
  assertValidDeviceId(deviceId);
  return DEVICE_URI_PREFIX + deviceId;
}
