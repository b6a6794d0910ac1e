import type { EventData } from './decode/event-data.js';

/** `sha1`: TCG_PCR_EVENT entries only; `crypto-agile`: a Spec ID Event03 header then TCG_PCR_EVENT2 entries. */
export type EventLogFormat = 'sha1' | 'crypto-agile';

/** Which on-disk structure an event was read from (PFP 10.2.1 / 10.2.2). */
export type EventEncoding = 'pcr-event' | 'pcr-event2';

export interface EventDigest {
  /** TPM_ALG_ID of the bank. */
  readonly algorithmId: number;
  /** `sha1`, `sha256`, ... (`alg_0x....` when unknown). */
  readonly bank: string;
  readonly digest: Uint8Array;
}

/** An event as stored in the log, before any interpretation of its data. */
export interface RawEvent {
  /** 0-based position in the log (the Spec ID header of a crypto-agile log is 0). */
  readonly index: number;
  /** Byte offset of the event in the log. */
  readonly offset: number;
  readonly encoding: EventEncoding;
  readonly pcrIndex: number;
  readonly eventType: number;
  readonly digests: readonly EventDigest[];
  /** The raw event data. Not covered by the PCR unless `verification` says so. */
  readonly data: Uint8Array;
}

/**
 * Whether the event data is bound to the PCR. Only the digests are extended,
 * so the event type and data can be changed freely by whoever hands over the
 * log (see go-attestation's "event log disclosure"):
 * - `verified`: for this event type the digest must be the hash of the data
 *   (or a spec-defined part of it), and every bank's digest matches;
 * - `mismatch`: it should, and does not: the data is not what was measured;
 * - `unverifiable`: the digest is of something outside the log (an image, a
 *   table in memory), or the event is never extended (EV_NO_ACTION).
 * A policy may read event data only from `verified` events.
 */
export type DataVerification = 'verified' | 'mismatch' | 'unverifiable';

export interface TcgEvent extends RawEvent {
  /** `EV_SEPARATOR`, ... from the (untrusted) event type. */
  readonly typeName: string;
  readonly verification: DataVerification;
  /** The event data decoded by its (untrusted) event type. */
  readonly decoded: EventData;
}

/** TCG_EfiSpecIDEvent, the header of a crypto-agile log (PFP 10.4.5.1). */
export interface SpecIdEvent {
  readonly platformClass: number;
  readonly specVersion: { readonly major: number; readonly minor: number; readonly errata: number };
  /** Width of UINTN fields in UEFI event data, in bytes. */
  readonly uintnSize: 4 | 8;
  readonly algorithms: readonly { readonly algorithmId: number; readonly bank: string; readonly digestSize: number }[];
  readonly vendorInfo: Uint8Array;
}

export interface EventLog {
  readonly format: EventLogFormat;
  /** The crypto-agile header, or null for a SHA1 log. */
  readonly specId: SpecIdEvent | null;
  /** Every event in log order, the Spec ID header (if any) included. */
  readonly events: readonly TcgEvent[];
}
