import { DEVICE_ID_PATTERN, isDeviceId } from '@vigil/protocol';
import { PkiError } from './errors.js';

/**
 * A device's identity in its certificate is a SAN URI `urn:vigil:device:<id>`
 * (RFC 5280 §4.2.1.6 uniformResourceIdentifier). The subject CN repeats the id
 * for humans, but only the SAN is authoritative: a CN is free text that other
 * CAs put anything into.
 */
export const DEVICE_URI_PREFIX = 'urn:vigil:device:';

/**
 * Device ids end up in MQTT topics and file names; the syntax is the
 * protocol's (`@vigil/protocol` DEVICE_ID_PATTERN): no `/`, `+`, `#`, `$`,
 * NUL, whitespace, commas or quotes can ever reach a certificate.
 */
export function isValidDeviceId(id: string): boolean {
  return isDeviceId(id);
}

export function assertValidDeviceId(id: string): void {
  if (!isValidDeviceId(id)) {
    throw new PkiError('invalid-device-id', `device id ${JSON.stringify(id.slice(0, 80))} does not match ${DEVICE_ID_PATTERN}`);
  }
}

export function deviceUri(deviceId: string): string {
  assertValidDeviceId(deviceId);
  return DEVICE_URI_PREFIX + deviceId;
}
