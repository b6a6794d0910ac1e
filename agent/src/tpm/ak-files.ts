import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePrivateBlob, decodePublicBlob, encodePrivateBlob, encodePublicBlob, type KeyBlobs, objectName } from '@vigil/tpm2-ts';

/**
 * An AK kept on disk the way tpm2-tools keeps keys: `ak.pub` is the
 * TPM2B_PUBLIC, `ak.priv` the TPM2B_PRIVATE (wrapped by the parent EK, so
 * useless outside this TPM, but still written 0600). `tpm2_load -u ak.pub -r
 * ak.priv` loads the same files.
 */
export const AK_PUBLIC_FILE = 'ak.pub';
export const AK_PRIVATE_FILE = 'ak.priv';

async function writeAtomic(path: string, data: Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

export async function saveAkBlobs(dir: string, blobs: Pick<KeyBlobs, 'public' | 'private'>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(join(dir, AK_PUBLIC_FILE), encodePublicBlob(blobs.public), 0o644);
  await writeAtomic(join(dir, AK_PRIVATE_FILE), encodePrivateBlob(blobs.private), 0o600);
}

/** The AK blobs in `dir`, or undefined when there are none yet. Malformed files throw. */
export async function loadAkBlobs(dir: string): Promise<KeyBlobs | undefined> {
  let pub: Buffer;
  let priv: Buffer;
  try {
    [pub, priv] = await Promise.all([readFile(join(dir, AK_PUBLIC_FILE)), readFile(join(dir, AK_PRIVATE_FILE))]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const p = decodePublicBlob(new Uint8Array(pub));
  return { public: p, private: decodePrivateBlob(new Uint8Array(priv)), name: objectName(p) };
}
