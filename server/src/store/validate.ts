import { CERTIFICATE_SERIAL_PATTERN, isBootstrapId, isDeviceId, isRandomId } from '@vigil/protocol/core';
import { StoreError } from './errors.js';

/**
 * Argument checks at the store boundary. Callers validate input long before
 * it reaches the store; these make a caller's bug a clear StoreError
 * instead of a strange row.
 */

const sha256HexRe = /^[0-9a-f]{64}$/;
const serialRe = new RegExp(CERTIFICATE_SERIAL_PATTERN);
const hexRe = /^(?:[0-9a-f]{2})+$/;
/** Names of policies and groups: same syntax as device ids. */
const nameRe = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const actionRe = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+$/;

function invalid(what: string, value: unknown): never {
  throw new StoreError('invalid-argument', `invalid ${what}: ${JSON.stringify(value)}`);
}

export function checkDeviceId(id: string): string {
  return isDeviceId(id) ? id : invalid('device id', id);
}
export function checkRandomId(id: string, what: string): string {
  return isRandomId(id) ? id : invalid(what, id);
}
export function checkBootstrapId(id: string): string {
  return isBootstrapId(id) ? id : invalid('bootstrap id', id);
}
export function checkSha256Hex(value: string, what = 'SHA-256 digest'): string {
  return sha256HexRe.test(value) ? value : invalid(what, value);
}
export function checkSerial(serial: string): string {
  return serialRe.test(serial) ? serial : invalid('certificate serial', serial);
}
export function checkHex(value: string, what: string): string {
  return hexRe.test(value) && value.length <= 256 ? value : invalid(what, value);
}
export function checkName(value: string, what: string): string {
  return nameRe.test(value) ? value : invalid(what, value);
}
export function checkText(value: string, what: string, max: number): string {
  return value.length > 0 && value.length <= max && !/[\u0000-\u001f\u007f]/.test(value) ? value : invalid(what, value);
}
export function checkAction(action: string): string {
  return actionRe.test(action) && action.length <= 64 ? action : invalid('audit action', action);
}
export function checkTime(t: number, what: string): number {
  return Number.isSafeInteger(t) && t >= 0 ? t : invalid(what, t);
}
export function checkPositiveInt(n: number, what: string): number {
  return Number.isSafeInteger(n) && n >= 1 ? n : invalid(what, n);
}
