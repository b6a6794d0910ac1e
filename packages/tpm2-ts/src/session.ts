import type { TpmsAuthCommand, TpmsAuthResponse } from './structures/misc.js';

/** What a session sees of a command when it computes its authorization (Part 1 §19.6). */
export interface AuthCommandContext {
  readonly commandCode: number;
  /** Names of the command's handles, in order (for cpHash). */
  readonly names: readonly Uint8Array[];
  /** The marshalled parameter area (for cpHash). */
  readonly parameters: Uint8Array;
  /** Index of this session in the command's authorization area (0-based). */
  readonly index: number;
}

/** What a session sees of a successful response when it checks the TPM's acknowledgement. */
export interface AuthResponseContext {
  readonly commandCode: number;
  /** The marshalled response parameter area (for rpHash). */
  readonly parameters: Uint8Array;
}

/**
 * An authorization session: the password pseudo-session, an HMAC session or
 * a policy session (Part 1 §19). `Tpm.execute` asks each session for its
 * TPMS_AUTH_COMMAND and hands it the TPMS_AUTH_RESPONSE to check.
 */
export interface Session {
  /** Session handle (TPM_RS_PW for the password session). */
  readonly handle: number;
  /** Whether authCommand needs the real Names of object and NV handles (HMAC/policy sessions do; passwords do not). */
  readonly needsNames: boolean;
  authCommand(ctx: AuthCommandContext): TpmsAuthCommand;
  /** Verifies the TPM's response authorization; throws TpmSessionError when it does not check out. */
  authResponse(ctx: AuthResponseContext, auth: TpmsAuthResponse): void;
}
