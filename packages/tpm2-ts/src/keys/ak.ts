import { marshal, unmarshal } from '../codec/codec.js';
import { FlushContext } from '../commands/context.js';
import { Create, Load } from '../commands/object.js';
import { objectName } from '../crypto/name.js';
import { passwordSession } from '../sessions/password.js';
import type { Session } from '../session.js';
import { TPM2B_PRIVATE, TPM2B_PUBLIC, type TpmtPublic } from '../structures/public.js';
import { AK_TEMPLATES, type AkKind } from '../templates/ak.js';
import type { CommandRunner } from '../tpm.js';
import { keyHandle, type LoadedKey } from './loaded-key.js';

/** A key created under a parent, ready to be stored and loaded again under the same parent. */
export interface KeyBlobs {
  readonly public: TpmtPublic;
  /** TPM2B_PRIVATE contents: the private area wrapped by the parent. Not secret outside the TPM, but only loadable under that parent. */
  readonly private: Uint8Array;
  /** nameAlg || H(TPMT_PUBLIC). */
  readonly name: Uint8Array;
}

/**
 * Runs `fn` with a session authorizing `key`, flushing the session if the
 * command fails before the TPM consumed it (sessions made by `authorize`
 * end with their command on success).
 */
export async function withAuthorization<T>(tpm: CommandRunner, key: LoadedKey, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await key.authorize(tpm);
  try {
    return await fn(s);
  } catch (e) {
    if (s.handle >>> 24 === 0x02 || s.handle >>> 24 === 0x03) await tpm.execute(FlushContext, { flushHandle: s.handle }).catch(() => undefined);
    throw e;
  }
}

/** Creates an attestation key (restricted signing, `kind` template) under `parent` (an EK or storage key). */
export async function createAk(tpm: CommandRunner, parent: LoadedKey, kind: AkKind): Promise<KeyBlobs> {
  return createKey(tpm, parent, AK_TEMPLATES[kind]);
}

/** Creates an ordinary object from `template` under `parent`; `sensitive` carries its authValue and, for sealed data, the data. */
export async function createKey(
  tpm: CommandRunner,
  parent: LoadedKey,
  template: TpmtPublic,
  sensitive: { userAuth?: Uint8Array; data?: Uint8Array } = {},
): Promise<KeyBlobs> {
  const r = await withAuthorization(tpm, parent, (s) =>
    tpm.execute(
      Create,
      {
        parentHandle: keyHandle(parent),
        inSensitive: { userAuth: sensitive.userAuth ?? new Uint8Array(0), data: sensitive.data ?? new Uint8Array(0) },
        inPublic: template,
        outsideInfo: new Uint8Array(0),
        creationPCR: [],
      },
      [s],
    ),
  );
  return { public: r.outPublic, private: r.outPrivate, name: objectName(r.outPublic) };
}

/** Loads blobs made by `createAk`/`createKey` under the same parent; the key's USER role takes an empty password. */
export async function loadKey(tpm: CommandRunner, parent: LoadedKey, blobs: Pick<KeyBlobs, 'public' | 'private'>): Promise<LoadedKey> {
  const r = await withAuthorization(tpm, parent, (s) =>
    tpm.execute(Load, { parentHandle: keyHandle(parent), inPrivate: blobs.private, inPublic: blobs.public }, [s]),
  );
  return { handle: r.objectHandle, name: r.name, public: blobs.public, authorize: () => Promise.resolve(passwordSession()) };
}

/** Loads an AK (see `loadKey`). */
export const loadAk = loadKey;

/** TPM2B_PUBLIC bytes (tpm2-tools' `.pub` file format). */
export function encodePublicBlob(pub: TpmtPublic): Uint8Array {
  return marshal(TPM2B_PUBLIC, pub);
}

/** TPM2B_PRIVATE bytes (tpm2-tools' `.priv` file format). */
export function encodePrivateBlob(priv: Uint8Array): Uint8Array {
  return marshal(TPM2B_PRIVATE, priv);
}

/** Parses TPM2B_PUBLIC bytes; throws TpmUnmarshalError when malformed. */
export function decodePublicBlob(bytes: Uint8Array): TpmtPublic {
  return unmarshal(TPM2B_PUBLIC, bytes);
}

/** Parses TPM2B_PRIVATE bytes; throws TpmUnmarshalError when malformed. */
export function decodePrivateBlob(bytes: Uint8Array): Uint8Array {
  return unmarshal(TPM2B_PRIVATE, bytes);
}
