import { chmod, mkdir, stat } from 'node:fs/promises';
import { readTextIfExists as readText, writeFileAtomic as writeAtomic } from '@vigil/runtime';
import { StateError } from './errors.js';

/** Secret files (keys, AK private blob, enrollment facts). */
export const SECRET_MODE = 0o600;
/** Public files (certificates). */
export const PUBLIC_MODE = 0o644;
/** The state directory itself. */
export const DIRECTORY_MODE = 0o700;

/**
 * Creates the state directory (0700) or tightens an existing one to 0700:
 * it holds the device key.
 */
export async function ensureStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE });
    await chmod(dir, DIRECTORY_MODE);
  } catch (err) {
    throw new StateError('io', `cannot create the state directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Replaces `path` so that readers see the old file or the new one, never a
 * torn one, created with its final mode (`writeFileAtomic` of
 * @vigil/runtime); a failure is a StateError naming the file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  try {
    await writeAtomic(path, data, mode);
  } catch (err) {
    throw new StateError('io', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readText(path);
  } catch (err) {
    throw new StateError('io', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Refuses a secret file that group or others may read or write. */
export async function assertOwnerOnly(path: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    throw new StateError('io', `cannot stat ${path}: ${(err as Error).message}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new StateError('insecure', `${path} has mode ${mode.toString(8)}: it must be readable by its owner only (chmod 600)`);
  }
}
