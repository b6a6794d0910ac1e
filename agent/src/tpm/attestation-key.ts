import { type AkKind, createAk, createEk, type Ek, type EkKind, flushKey, type KeyBlobs, type LoadedKey, loadAk, type CommandRunner } from '@vigil/tpm2-ts';
import { loadAkBlobs, saveAkBlobs } from './ak-files.js';

/** The EK an AK of each kind lives under: the low-range EK of the same algorithm. */
export const AK_PARENT: Readonly<Record<AkKind, EkKind>> = { rsa: 'rsa', ecc: 'ecc' };

export interface AttestationKey {
  readonly ek: Ek;
  readonly ak: LoadedKey;
  readonly blobs: KeyBlobs;
  /** True when the AK was created now rather than loaded from `dir`. */
  readonly created: boolean;
  /** Flushes the AK and the EK from the TPM. */
  release(): Promise<void>;
}

/**
 * Loads the AK kept in `dir` (under the EK it was created under), or creates
 * one and keeps it there. Without `dir` the AK is created for this use only.
 * The EK is re-created from its template each time: it is the same key.
 */
export async function prepareAttestationKey(tpm: CommandRunner, kind: AkKind, dir?: string): Promise<AttestationKey> {
  const ek = await createEk(tpm, AK_PARENT[kind]);
  try {
    let blobs = dir ? await loadAkBlobs(dir) : undefined;
    const created = blobs === undefined;
    if (!blobs) {
      blobs = await createAk(tpm, ek, kind);
      if (dir) await saveAkBlobs(dir, blobs);
    }
    const ak = await loadAk(tpm, ek, blobs);
    return {
      ek,
      ak,
      blobs,
      created,
      release: async () => {
        await flushKey(tpm, ak);
        await flushKey(tpm, ek);
      },
    };
  } catch (e) {
    await flushKey(tpm, ek).catch(() => undefined);
    throw e;
  }
}
