import { ActivateCredential } from '../commands/object.js';
import { passwordSession } from '../sessions/password.js';
import type { Session } from '../session.js';
import type { CommandRunner } from '../tpm.js';
import { withAuthorization } from './ak.js';
import { keyHandle, type LoadedKey } from './loaded-key.js';

/**
 * TPM2_ActivateCredential with `ek` decrypting the seed and `key` (usually
 * the AK) as the object the credential was made for: returns the credential
 * (the verifier's secret) if and only if `key` has the Name the verifier used
 * in MakeCredential and `ek` is the key it encrypted to. The EK is
 * authorized by its own policy (`ek.authorize`); `keyAdmin` authorizes the
 * key's ADMIN role (empty password for our AKs).
 */
export async function activateCredential(
  tpm: CommandRunner,
  key: LoadedKey,
  ek: LoadedKey,
  credential: { readonly credentialBlob: Uint8Array; readonly secret: Uint8Array },
  keyAdmin: Session = passwordSession(),
): Promise<Uint8Array> {
  const r = await withAuthorization(tpm, ek, (ekSession) =>
    tpm.execute(
      ActivateCredential,
      { activateHandle: keyHandle(key), keyHandle: keyHandle(ek), credentialBlob: credential.credentialBlob, secret: credential.secret },
      [keyAdmin, ekSession],
    ),
  );
  return r.certInfo;
}
