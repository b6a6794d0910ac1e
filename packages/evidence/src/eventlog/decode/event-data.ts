/**
 * Event data decoded by event type. Everything here comes from the event data
 * and the event type, which the PCRs do not cover: check the event's
 * `verification` before trusting any of it.
 */
import type { SpecIdEvent } from '../event.js';
import type { DevicePath } from './device-path.js';
import type { SignatureEntry, SignatureList } from './signature-list.js';

export type EventData =
  | { readonly kind: 'spec-id'; readonly specId: SpecIdEvent }
  | { readonly kind: 'startup-locality'; readonly locality: number }
  /** Another EV_NO_ACTION event, named by its 16-byte signature (e.g. `SP800-155 Event`). */
  | { readonly kind: 'no-action'; readonly signature: string }
  /** EV_SEPARATOR: 0 normally, 1 (or 0xFFFFFFFF in older firmware) after an error (PFP 10.4.1, 3.3.2.2). */
  | { readonly kind: 'separator'; readonly value: number }
  /** ASCII or UCS-2 text: EV_EFI_ACTION, EV_ACTION, EV_S_CRTM_VERSION, EV_POST_CODE, EV_IPL, ... */
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'uefi-variable'; readonly variable: UefiVariable }
  | {
      readonly kind: 'image-load';
      readonly imageLocationInMemory: bigint;
      readonly imageLengthInMemory: bigint;
      readonly imageLinkTimeAddress: bigint;
      readonly devicePath: DevicePath;
    }
  | { readonly kind: 'firmware-blob'; readonly description?: string; readonly base: bigint; readonly length: bigint }
  | { readonly kind: 'handoff-tables'; readonly description?: string; readonly tables: readonly HandoffTable[] }
  | { readonly kind: 'gpt'; readonly diskGuid: string; readonly partitions: readonly GptPartition[] }
  | { readonly kind: 'tagged'; readonly id: number; readonly data: Uint8Array }
  /** A type with nothing more to decode (or an unknown type): only the raw bytes. */
  | { readonly kind: 'bytes' }
  /** The data does not have the structure its event type calls for. */
  | { readonly kind: 'malformed'; readonly reason: string };

export interface UefiVariable {
  readonly vendorGuid: string;
  readonly name: string;
  readonly data: Uint8Array;
  readonly value: UefiVariableValue;
}

export type UefiVariableValue =
  /** SecureBoot, SetupMode, AuditMode, DeployedMode: one byte, 1 = on (measured empty when absent: off). */
  | { readonly kind: 'boolean'; readonly value: boolean }
  /** PK, KEK, db, dbx, dbt, dbr, MokList...: EFI_SIGNATURE_LISTs. */
  | { readonly kind: 'signature-lists'; readonly lists: readonly SignatureList[] }
  /** EV_EFI_VARIABLE_AUTHORITY: the EFI_SIGNATURE_DATA of the db entry that verified an image. */
  | { readonly kind: 'signature'; readonly signature: SignatureEntry }
  | { readonly kind: 'boot-order'; readonly order: readonly number[] }
  | { readonly kind: 'load-option'; readonly option: LoadOption }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'malformed'; readonly reason: string };

/** EFI_LOAD_OPTION (UEFI 3.1.3). */
export interface LoadOption {
  readonly attributes: number;
  /** LOAD_OPTION_ACTIVE (bit 0). */
  readonly active: boolean;
  readonly description: string;
  readonly devicePath: DevicePath;
  readonly optionalData: Uint8Array;
}

export interface HandoffTable {
  readonly vendorGuid: string;
  /** SMBIOS, ACPI 2.0, ... when the GUID is well known. */
  readonly name?: string;
  readonly vendorTable: bigint;
}

export interface GptPartition {
  readonly typeGuid: string;
  readonly uniqueGuid: string;
  readonly startingLba: bigint;
  readonly endingLba: bigint;
  readonly attributes: bigint;
  readonly name: string;
}
