import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliError, ExitCode } from '../cli/exit-codes.js';

/**
 * Where the demo's server lives: `--data DIR`, which must be new or empty
 * (the demo creates a fresh server there, and never touches a real one's
 * data), or a new temporary directory.
 */
export async function prepareDataDir(data: string | undefined): Promise<{ readonly path: string; readonly temporary: boolean }> {
  if (data === undefined) return { path: await mkdtemp(join(tmpdir(), 'vigil-demo-')), temporary: true };
  const path = resolve(data);
  if (existsSync(path)) {
    const entries = await readdir(path).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`--data ${path}: ${err.code === 'ENOTDIR' ? 'not a directory' : err.message}`, ExitCode.Usage);
    });
    if (entries.length > 0) throw new CliError(`--data ${path} is not empty: give a new or empty directory (the demo creates a fresh server there)`, ExitCode.Usage);
  }
  await mkdir(path, { recursive: true, mode: 0o700 });
  return { path, temporary: false };
}
