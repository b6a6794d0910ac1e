import type { Actor, EpochMs, JsonObject } from './common.js';

export interface AuditInput {
  readonly actor: Actor;
  /** Dotted lowercase verb, e.g. `device.revoke`, `token.create`, `enroll.reject`. */
  readonly action: string;
  /** What it was done to, e.g. `device:cam-17`, `token:4`, `policy:fleet@3`. */
  readonly subject: string;
  readonly details?: JsonObject;
}

/** One audit log row. `hash` chains it to every row before it (see `auditEntryHash`). */
export interface AuditEntry {
  readonly seq: number;
  readonly at: EpochMs;
  readonly actor: Actor;
  readonly action: string;
  readonly subject: string;
  readonly details: JsonObject;
  readonly prevHash: string;
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly entries: number; readonly headHash: string }
  | {
      readonly ok: false;
      /** Entries checked and found intact before the break. */
      readonly entries: number;
      /** The first entry that does not verify. */
      readonly brokenSeq: number;
      readonly why: string;
    };
