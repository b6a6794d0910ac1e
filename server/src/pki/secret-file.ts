import { chmod, stat } from 'node:fs/promises';
import { writeFileAtomic } from '@vigil/runtime';
import { PkiError } from './errors.js';

/** Atomic replace (temp file + rename) with the given mode; used for certificates and CRLs too. */
export { writeFileAtomic };

/** Private keys must be readable by their owner only. */
export const SECRET_FILE_MODE = 0o600;

/**
 * Writes a secret (a private key) with mode 0600, atomically: a temp file in
 * the same directory, created 0600 from the start (so the secret is never
 * briefly readable under a permissive umask), fsynced, renamed over `path`.
 * The mode is checked after writing: a filesystem that ignores modes is an
 * error, not a silent leak.
 */
export async function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  await writeFileAtomic(path, data, SECRET_FILE_MODE);
  await assertOwnerOnly(path);
}

/**
 * Refuses a private key file that group or others can read or write: the
 * fleet CA key is the root of every device identity.
 *
 * @throws PkiError 'insecure-key-file'
 */
export async function assertOwnerOnly(path: string): Promise<void> {
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    throw new PkiError(
      'insecure-key-file',
      `${path} has mode ${mode}: a private key must be readable by its owner only (run: chmod 600 ${path})`,
    );
  }
}

/** Restricts a directory to its owner (data directories hold keys). */
export async function restrictDirectory(path: string): Promise<void> {
  await chmod(path, 0o700);
}
