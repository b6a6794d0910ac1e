/**
 * Which event data is bound to the PCRs. Only digests are extended, so event
 * data means something only for event types whose digest the PFP defines as
 * the hash of that data, and only when the digest indeed matches (TCG PC
 * Client PFP 1.05, 10.4.1 tables 9 and 10; go-attestation's "event log
 * disclosure" shows why a verifier must not read unbound data).
 */
import { ByteReader } from '../binary/byte-reader.js';
import { bytesEqual } from '../binary/bytes.js';
import { decodeExact } from '../binary/codec.js';
import { DecodeError } from '../binary/errors.js';
import { canHash, digest } from '../crypto/hash-algorithms.js';
import type { DataVerification, RawEvent } from './event.js';
import { EventType } from './event-types.js';
import { UefiVariableData } from './structures/uefi.js';

/**
 * - `event-data`: the digest is the hash of the whole event data.
 * - `variable-data`: EV_EFI_VARIABLE_BOOT. PFP 10.4.4 defines its digest as
 *   the hash of UEFI_VARIABLE_DATA.VariableData only (the Boot#### /
 *   BootOrder value), but much firmware in the field (e.g. the go-attestation
 *   and arch-linux fixtures) hashes the whole UEFI_VARIABLE_DATA, as
 *   EV_EFI_VARIABLE_BOOT2 later made official. Either form verifies; under the
 *   first, only the value is bound, not the variable's name or GUID.
 * - `external`: the digest covers something that is not in the log (a PE
 *   image's Authenticode hash, a firmware volume, SMBIOS tables, a kernel).
 */
export type DigestRule = 'event-data' | 'variable-data' | 'external';

const EVENT_DATA_TYPES: ReadonlySet<number> = new Set([
  // "the digest is the hash of the event data" in PFP 10.4.1:
  EventType.EV_SEPARATOR, // the 4-byte separator value
  EventType.EV_ACTION,
  EventType.EV_EFI_ACTION, // the action string
  EventType.EV_S_CRTM_VERSION, // the version string
  EventType.EV_COMPACT_HASH,
  EventType.EV_OMIT_BOOT_DEVICE_EVENTS, // "BOOT ATTEMPTS OMITTED"
  EventType.EV_EFI_VARIABLE_DRIVER_CONFIG, // the whole UEFI_VARIABLE_DATA (PCR 1 and 7)
  EventType.EV_EFI_VARIABLE_BOOT2, // the whole UEFI_VARIABLE_DATA (PFP 1.05 replaces BOOT's rule)
  EventType.EV_EFI_VARIABLE_AUTHORITY, // the whole UEFI_VARIABLE_DATA holding the db entry
  EventType.EV_EFI_GPT_EVENT, // the whole UEFI_GPT_DATA
]);

export function digestRule(eventType: number): DigestRule {
  if (EVENT_DATA_TYPES.has(eventType)) return 'event-data';
  if (eventType === EventType.EV_EFI_VARIABLE_BOOT) return 'variable-data';
  return 'external';
}

/** Checks every digest this Node build can compute against the data its rule names. */
export function verifyEventData(e: RawEvent): DataVerification {
  if (e.eventType === EventType.EV_NO_ACTION) return 'unverifiable';
  const rule = digestRule(e.eventType);
  if (rule === 'external') return 'unverifiable';
  if (rule === 'event-data') {
    const whole = digestsMatch(e, e.data);
    // shim before rhboot/shim commit 8a27a48 (2020) logged its authority
    // events with one byte more than it measured (go-attestation issue 157).
    if (whole === 'mismatch' && e.eventType === EventType.EV_EFI_VARIABLE_AUTHORITY && e.data.length > 0) {
      return digestsMatch(e, e.data.subarray(0, e.data.length - 1));
    }
    return whole;
  }
  let value: Uint8Array;
  try {
    value = decodeExact(UefiVariableData, new ByteReader(e.data)).variableData;
  } catch (err) {
    if (err instanceof DecodeError) return 'mismatch';
    throw err;
  }
  const ofValue = digestsMatch(e, value);
  return ofValue === 'mismatch' ? digestsMatch(e, e.data) : ofValue;
}

/** Every digest this Node build can compute must be the hash of `measured`. */
function digestsMatch(e: RawEvent, measured: Uint8Array): DataVerification {
  let checked = 0;
  for (const d of e.digests) {
    if (!canHash(d.algorithmId)) continue;
    if (!bytesEqual(digest(d.algorithmId, measured), d.digest)) return 'mismatch';
    checked++;
  }
  return checked > 0 ? 'verified' : 'unverifiable';
}
