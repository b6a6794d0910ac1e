import type { CrlReason } from '../pki/index.js';

/** A CRL to make, as sent to the CRL worker (structured-clone friendly: times in ms, the number as a decimal string). */
export interface CrlJob {
  readonly id: number;
  readonly entries: ReadonlyArray<{ readonly serial: string; readonly revokedAt: number; readonly reason: CrlReason }>;
  readonly crlNumber: string;
  readonly validityMs: number;
}

export type CrlReply = { readonly id: number; readonly ok: true; readonly pem: string } | { readonly id: number; readonly ok: false; readonly message: string };
