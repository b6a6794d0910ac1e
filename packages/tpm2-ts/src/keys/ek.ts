import { CreatePrimary } from '../commands/hierarchy.js';
import { TPM_RH } from '../constants/handles.js';
import { TPM_RC } from '../constants/rc.js';
import { TpmResponseError } from '../errors.js';
import { nvReadPublic, readNv } from '../operations/nv.js';
import { passwordSession } from '../sessions/password.js';
import { policySecret } from '../sessions/policy.js';
import { startAuthSession } from '../sessions/start.js';
import type { Session } from '../session.js';
import { EK_CERT_NV_INDEX, EK_TEMPLATES, type EkKind, ekNeedsPolicy } from '../templates/ek.js';
import type { CommandRunner } from '../tpm.js';
import type { LoadedKey } from './loaded-key.js';
import type { AuthSession } from '../sessions/auth-session.js';
import { FlushContext } from '../commands/context.js';

/** An EK created from its TCG template. */
export interface Ek extends LoadedKey {
  readonly kind: EkKind;
}

const EMPTY_SENSITIVE = { userAuth: new Uint8Array(0), data: new Uint8Array(0) };

/**
 * A policy session satisfying the low-range EK policy,
 * PolicySecret(TPM_RH_ENDORSEMENT) (EK profile §B.6), for exactly one
 * command: the session has continueSession clear, so the TPM flushes it
 * after that command. `endorsementAuth` authorizes the endorsement hierarchy
 * (empty by default).
 */
export async function ekPolicySession(tpm: CommandRunner, nameAlg: number, endorsementAuth: Session = passwordSession()): Promise<Session> {
  const session: AuthSession = await startAuthSession(tpm, 'policy', { authHash: nameAlg });
  try {
    await policySecret(tpm, session, TPM_RH.ENDORSEMENT, { authSession: endorsementAuth });
  } catch (e) {
    await tpm.execute(FlushContext, { flushHandle: session.handle }).catch(() => undefined);
    throw e;
  }
  return session.once();
}

/**
 * Creates the EK of `kind` from its template under the endorsement
 * hierarchy (TPM2_CreatePrimary). The result is the same key every time
 * (until the endorsement seed changes), so it matches the EK certificate.
 * Flush it with `flushKey` when done.
 */
export async function createEk(tpm: CommandRunner, kind: EkKind, endorsementAuth?: Session): Promise<Ek> {
  const template = EK_TEMPLATES[kind];
  const r = await tpm.execute(
    CreatePrimary,
    { primaryHandle: TPM_RH.ENDORSEMENT, inSensitive: EMPTY_SENSITIVE, inPublic: template, outsideInfo: new Uint8Array(0), creationPCR: [] },
    endorsementAuth ? [endorsementAuth] : [],
  );
  const needsPolicy = ekNeedsPolicy(kind);
  return {
    kind,
    handle: r.objectHandle,
    name: r.name,
    public: r.outPublic,
    authorize: (t) => (needsPolicy ? ekPolicySession(t, template.nameAlg) : Promise.resolve(passwordSession())),
  };
}

/** The EK certificate (DER) of `kind` from its NV index, or undefined when the index is not defined. */
export async function readEkCertificate(tpm: CommandRunner, kind: EkKind): Promise<Uint8Array | undefined> {
  const index = EK_CERT_NV_INDEX[kind];
  try {
    await nvReadPublic(tpm, index);
  } catch (e) {
    if (e instanceof TpmResponseError && e.is(TPM_RC.HANDLE)) return undefined;
    throw e;
  }
  return readNv(tpm, index);
}
