import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` so that a reader sees the old file or the new one,
 * never a half-written one: a temp file in the same folder (rename(2) is
 * atomic only within one filesystem), created exclusively with its final
 * mode so a secret is never briefly readable under a permissive umask,
 * chmod'ed to exactly `mode` (the umask may have narrowed it), fsynced so the
 * rename never publishes an empty file after a crash, then renamed over
 * `path`. On any failure the temp file is removed and the error rethrown.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
