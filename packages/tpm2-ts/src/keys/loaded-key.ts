import { FlushContext } from '../commands/context.js';
import type { Session } from '../session.js';
import type { TpmtPublic } from '../structures/public.js';
import type { CommandRunner } from '../tpm.js';

/** A key loaded in the TPM, with what it takes to use it. */
export interface LoadedKey {
  readonly handle: number;
  /** The TPM's Name for it (nameAlg || H(TPMT_PUBLIC)). */
  readonly name: Uint8Array;
  readonly public: TpmtPublic;
  /**
   * A session authorizing the key's USER role for one command: an empty
   * password for ordinary keys; for a low-range EK a policy session that has
   * run PolicySecret(TPM_RH_ENDORSEMENT) and ends with the command.
   */
  authorize(tpm: CommandRunner): Promise<Session>;
}

/** The handle with its Name, as commands take it when sessions need Names. */
export function keyHandle(k: LoadedKey): { readonly handle: number; readonly name: Uint8Array } {
  return { handle: k.handle, name: k.name };
}

/** Flushes a transient key (persistent handles are left alone). */
export async function flushKey(tpm: CommandRunner, k: LoadedKey | number): Promise<void> {
  const handle = typeof k === 'number' ? k : k.handle;
  if (handle >>> 24 !== 0x80) return;
  await tpm.execute(FlushContext, { flushHandle: handle });
}
