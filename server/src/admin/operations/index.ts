/**
 * What an operation's author needs (kept light: every `vigil-server` command
 * loads the registry). See ../README.md, "Adding an operation".
 */
export { defineOperation, type Operation, type OperationSpec, type CliBinding, type CliOptionHint, type HttpMethod } from './operation.js';
export type { OperationContext, OnlineOperationContext } from './context.js';
export { OperationError, type OperationErrorCode } from './errors.js';
export { DeviceIdParam, IsoTime, NameParam, Nullable, SerialHex, Text, deviceId, name, serial } from './schemas.js';
export { fields, isoTime, shortTime, table } from './format.js';
export type { DeviceSummary, DeviceState } from './devices/schemas.js';
