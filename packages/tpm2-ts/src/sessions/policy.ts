import type { TpmHandle } from '../command.js';
import { PolicyAuthValue, PolicyCommandCode, PolicyGetDigest, PolicyPCR, PolicySecret } from '../commands/policy.js';
import { PolicyRestart } from '../commands/session.js';
import type { Session } from '../session.js';
import type { TpmlPcrSelection } from '../structures/basic.js';
import type { CommandRunner } from '../tpm.js';
import type { AuthSession } from './auth-session.js';

/**
 * Policy assertions on a policy or trial session (Part 3 §23). Each extends
 * the session's policyDigest the way `PolicyDigest` computes in software;
 * the session then authorizes an object whose authPolicy equals that digest.
 */

/**
 * TPM2_PolicySecret: proves knowledge of `authHandle`'s authorization with
 * `authSession` (default: empty password). For an EK, authHandle is
 * TPM_RH_ENDORSEMENT (TCG EK Credential Profile §B.6).
 */
export async function policySecret(
  tpm: CommandRunner,
  session: AuthSession,
  authHandle: TpmHandle,
  options: { readonly authSession?: Session; readonly policyRef?: Uint8Array; readonly expiration?: number } = {},
): Promise<void> {
  await tpm.execute(
    PolicySecret,
    {
      authHandle,
      policySession: session.handle,
      nonceTPM: session.nonceTPM,
      cpHashA: new Uint8Array(0),
      policyRef: options.policyRef ?? new Uint8Array(0),
      expiration: options.expiration ?? 0,
    },
    options.authSession ? [options.authSession] : [],
  );
}

/**
 * TPM2_PolicyPCR: binds the session to the current values of `pcrs`. With
 * `pcrDigest` (the expected digest of those values) the TPM also checks them
 * now; in a trial session it records the digest as given.
 */
export async function policyPcr(tpm: CommandRunner, session: AuthSession, pcrs: TpmlPcrSelection, pcrDigest: Uint8Array = new Uint8Array(0)): Promise<void> {
  await tpm.execute(PolicyPCR, { policySession: session.handle, pcrDigest, pcrs });
}

/** TPM2_PolicyAuthValue: the authorized object's authValue must key the session HMAC as well. */
export async function policyAuthValue(tpm: CommandRunner, session: AuthSession): Promise<void> {
  await tpm.execute(PolicyAuthValue, { policySession: session.handle });
  session.authValueNeeded = true;
}

/** TPM2_PolicyCommandCode: the session may authorize only command `code`. */
export async function policyCommandCode(tpm: CommandRunner, session: AuthSession, code: number): Promise<void> {
  await tpm.execute(PolicyCommandCode, { policySession: session.handle, code });
}

/** TPM2_PolicyGetDigest: the session's policyDigest so far. */
export async function policyGetDigest(tpm: CommandRunner, session: AuthSession): Promise<Uint8Array> {
  return (await tpm.execute(PolicyGetDigest, { policySession: session.handle })).policyDigest;
}

/** TPM2_PolicyRestart: back to an all-zero policyDigest, assertions forgotten. */
export async function policyRestart(tpm: CommandRunner, session: AuthSession): Promise<void> {
  await tpm.execute(PolicyRestart, { sessionHandle: session.handle });
  session.authValueNeeded = false;
}
