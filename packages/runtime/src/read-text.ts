import { readFile } from 'node:fs/promises';

/**
 * The file's text (UTF-8), or undefined when it does not exist: "not
 * written yet" is a state (no CRL yet, no key yet), not an error. Any other
 * failure (permissions, a directory, I/O) is rethrown as Node raised it.
 */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
