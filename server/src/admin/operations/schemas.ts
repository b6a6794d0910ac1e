import Type, { type TSchema } from 'typebox';
import { CERTIFICATE_SERIAL_PATTERN, DEVICE_ID_PATTERN } from '@vigil/protocol/core';

/**
 * Schema pieces the operations share. Outputs describe JSON as it travels:
 * times are ISO 8601 strings, binary is hex, the TPM clock a decimal string.
 */

export const IsoTime = Type.String({ format: 'date-time', maxLength: 32, description: 'ISO 8601 time' });
export const DeviceIdParam = Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63, description: 'device id' });
export const SerialHex = Type.String({ pattern: CERTIFICATE_SERIAL_PATTERN, maxLength: 40, description: 'certificate serial, lowercase hex' });
/** Names of admins, groups and policies: the device id syntax. */
export const NameParam = Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63 });

/** Human text: no control characters (they would forge log lines and terminal output). */
export function Text(maxLength: number, options: { description?: string; minLength?: number } = {}) {
  return Type.String({ minLength: 1, ...options, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
}

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
