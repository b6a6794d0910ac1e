import type { PcrValues } from '@vigil/protocol/core';

/**
 * What the verifier established from a device's evidence before the policy
 * step, in the form the policy reads: only facts that the quote binds (the
 * logs replayed to the quoted PCRs, event data verified against its digest).
 */

/** A boot event whose digests the policy checks (boot applications, drivers). */
export interface BootEventFact {
  /** Index of the event in the boot event log. */
  readonly event: number;
  readonly pcr: number;
  /** The event's digests in every bank, lowercase hex. */
  readonly digests: readonly string[];
}

/** A UEFI signature database as measured: entries named by the SHA-256 of their EFI_SIGNATURE_DATA content. */
export interface SignatureDatabaseFact {
  readonly measured: boolean;
  readonly entries: readonly string[];
}

export interface SecureBootFact {
  /** The measured SecureBoot variable; undefined if it was not measured. */
  readonly enabled: boolean | undefined;
  /** Why the measured state cannot be trusted (unverified PCR 7 events, a debugger, ...). */
  readonly problems: readonly string[];
  readonly pk: SignatureDatabaseFact;
  readonly kek: SignatureDatabaseFact;
  readonly db: SignatureDatabaseFact;
  readonly dbx: SignatureDatabaseFact;
}

export interface BootLogFacts {
  readonly applications: readonly BootEventFact[];
  readonly drivers: readonly BootEventFact[];
  readonly secureBoot: SecureBootFact;
}

/** One model file measurement of the current boot (model log entry). */
export interface ModelFact {
  readonly entry: number;
  readonly path: string;
  /** SHA-256 of the file, lowercase hex. */
  readonly digest: string;
}

export interface AppraisalFacts {
  /** The PCR values the quote signed. */
  readonly quoted: PcrValues;
  /** Facts from the boot event log, or null when the device has none. */
  readonly bootLog: BootLogFacts | null;
  /** Every model measurement of the current boot (the model log replayed to the quoted model PCR). */
  readonly models: readonly ModelFact[];
}
