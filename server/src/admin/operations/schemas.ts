import Type, { type TSchema } from 'typebox';
import { CERTIFICATE_SERIAL_PATTERN, DEVICE_ID_PATTERN } from '@vigil/protocol/core';

/**
 * Schema pieces the operations share. Outputs describe JSON as it travels:
 * times are ISO 8601 strings, binary is hex, the TPM clock a decimal string.
 */

export const IsoTime = Type.String({ format: 'date-time', maxLength: 32, description: 'ISO 8601 time' });

/*
 * Make a schema with another description by calling these, never by
 * spreading one (`{ ...DeviceIdParam }`): TypeBox keeps a schema's kind in
 * non-enumerable properties that a spread drops.
 */

export function deviceId(description = 'device id') {
  return Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63, description });
}
/** Names of admins, groups and policies: the device id syntax. */
export function name(description: string) {
  return Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63, description });
}
export function serial(description = 'certificate serial, lowercase hex') {
  return Type.String({ pattern: CERTIFICATE_SERIAL_PATTERN, maxLength: 40, description });
}

export const DeviceIdParam = deviceId();
export const SerialHex = serial();
export const NameParam = name('a name: a-z 0-9 . _ -, at most 63');

/** Human text: no control characters (they would forge log lines and terminal output). */
export function Text(maxLength: number, options: { description?: string; minLength?: number } = {}) {
  return Type.String({ minLength: 1, ...options, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
}

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
