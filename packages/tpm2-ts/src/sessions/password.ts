import { TPM_RH } from '../constants/handles.js';
import { TpmSessionError } from '../errors.js';
import type { Session } from '../session.js';

/**
 * The password authorization pseudo-session TPM_RS_PW (Part 1 §19.8.4): the
 * authValue travels in the clear as the HMAC field. Fine for empty or
 * well-known auth values (EK, SRK, our AK); use an HMAC session for secrets.
 */
export function passwordSession(auth: Uint8Array = new Uint8Array(0)): Session {
  return {
    handle: TPM_RH.PW,
    needsNames: false,
    authCommand: () => ({
      sessionHandle: TPM_RH.PW,
      nonce: new Uint8Array(0),
      sessionAttributes: { continueSession: true },
      hmac: auth,
    }),
    authResponse: (_ctx, resp) => {
      // Part 1 §19.8.4: the TPM answers a password session with an empty nonce and hmac.
      if (resp.nonce.length !== 0 || resp.hmac.length !== 0) {
        throw new TpmSessionError('password session response carries a nonce or HMAC');
      }
    },
  };
}
