import { randomBytes } from 'node:crypto';
import { type TpmHandle, handleValue } from '../command.js';
import { ReadPublic } from '../commands/object.js';
import { StartAuthSession } from '../commands/session.js';
import { FlushContext } from '../commands/context.js';
import { hashAlgorithm, TPM_ALG } from '../constants/alg.js';
import { nameIsHandle, TPM_RH } from '../constants/handles.js';
import { kdfa } from '../crypto/kdf.js';
import type { TpmaSession } from '../structures/attributes.js';
import type { TpmtSymDef } from '../structures/schemes.js';
import { type CommandRunner, resolveNameFromTpm } from '../tpm.js';
import { AuthSession, type AuthSessionType, SESSION_TYPES, trimAuthValue } from './auth-session.js';
import { shareSeed } from '../crypto/secret-sharing.js';

export interface StartAuthSessionOptions {
  /** Session hash (default SHA-256). */
  readonly authHash?: number;
  /**
   * Salt the session with a loaded asymmetric key (e.g. the EK or SRK): its
   * handle, optionally its Name, and optionally its public area (read with
   * ReadPublic when omitted). The salt's secrecy keeps the session key from
   * anyone who watched the bus.
   */
  readonly saltKey?: TpmHandle;
  /** Bind the session to an entity whose authValue goes into the session key (Part 1 §19.6.10). */
  readonly bind?: { readonly handle: TpmHandle; readonly authValue: Uint8Array };
  /** Parameter-encryption algorithm (default TPM_ALG_NULL: none). */
  readonly symmetric?: TpmtSymDef;
  readonly attributes?: TpmaSession;
}

const NULL_SYM: TpmtSymDef = { algorithm: TPM_ALG.NULL, keyBits: null, mode: null };

/**
 * Starts an HMAC, policy or trial session (TPM2_StartAuthSession, Part 3
 * §11.1) and derives its session key:
 *   sessionKey = KDFa(authHash, bindAuth || salt, "ATH", nonceTPM, nonceCaller, digest bits)
 * (empty when the session is neither bound nor salted; Part 1 §19.6.8).
 */
export async function startAuthSession(tpm: CommandRunner, type: AuthSessionType, options: StartAuthSessionOptions = {}): Promise<AuthSession> {
  const authHash = options.authHash ?? TPM_ALG.SHA256;
  const h = hashAlgorithm(authHash);
  if (!h) throw new Error(`authHash 0x${authHash.toString(16)} is not a hash algorithm`);
  const nonceCaller = new Uint8Array(randomBytes(h.size));

  let salt: Uint8Array = new Uint8Array(0);
  let encryptedSalt: Uint8Array = new Uint8Array(0);
  let tpmKey: TpmHandle = TPM_RH.NULL;
  if (options.saltKey !== undefined) {
    const key = options.saltKey;
    const { outPublic, name } = await tpm.execute(ReadPublic, { objectHandle: handleValue(key) });
    // The salt is shared like any TPM secret (Part 1 §24), with label "SECRET".
    ({ seed: salt, encryptedSecret: encryptedSalt } = shareSeed(outPublic, 'SECRET'));
    tpmKey = typeof key === 'number' ? { handle: key, name } : key;
  }

  let bindName: Uint8Array | undefined;
  let bindAuth: Uint8Array = new Uint8Array(0);
  let bind: TpmHandle = TPM_RH.NULL;
  if (options.bind) {
    bind = options.bind.handle;
    bindAuth = trimAuthValue(options.bind.authValue);
    const bh = handleValue(bind);
    bindName = typeof bind !== 'number' ? bind.name : await nameOf(tpm, bh);
  }

  const started = await tpm.execute(StartAuthSession, {
    tpmKey,
    bind,
    nonceCaller,
    encryptedSalt,
    sessionType: SESSION_TYPES[type],
    symmetric: options.symmetric ?? NULL_SYM,
    authHash,
  });
  const keyMaterial = new Uint8Array(bindAuth.length + salt.length);
  keyMaterial.set(bindAuth);
  keyMaterial.set(salt, bindAuth.length);
  const sessionKey = keyMaterial.length === 0 ? new Uint8Array(0) : kdfa(authHash, keyMaterial, 'ATH', started.nonceTPM, nonceCaller, h.size * 8);
  return new AuthSession({
    handle: started.sessionHandle,
    type,
    authHash,
    sessionKey,
    nonceTPM: started.nonceTPM,
    ...(bindName ? { bindName } : {}),
    ...(options.attributes ? { attributes: options.attributes } : {}),
  });
}

async function nameOf(tpm: CommandRunner, handle: number): Promise<Uint8Array> {
  if (!nameIsHandle(handle)) return resolveNameFromTpm(tpm, handle);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, handle >>> 0);
  return b;
}

/** Flushes a session (or any transient handle) from the TPM. */
export async function flush(tpm: CommandRunner, handle: number | { readonly handle: number }): Promise<void> {
  await tpm.execute(FlushContext, { flushHandle: typeof handle === 'number' ? handle : handle.handle });
}
