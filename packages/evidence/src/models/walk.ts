/**
 * Lists the files of a model: a single file, or every file under a folder,
 * by path relative to it with '/' separators, sorted bytewise on their UTF-8
 * form (the order of `LC_ALL=C sort`). Symbolic links are refused unless
 * allowed, because a link lets what is measured change without the measured
 * tree changing; when allowed they are followed (loops are detected).
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ModelHashError } from './errors.js';

export interface ModelFile {
  /** Relative to the measured folder with '/' separators (the file name for a single file). */
  readonly path: string;
  readonly absolutePath: string;
  readonly size: number;
}

export interface ModelListing {
  readonly root: string;
  readonly kind: 'file' | 'folder';
  readonly files: readonly ModelFile[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function checkName(name: string, at: string): void {
  // The manifest is one `<digest>  <path>` line per file: these would make it ambiguous.
  if (/[\n\r\\]/.test(name)) throw new ModelHashError('unsupported-name', at, 'file names with newlines or backslashes are not supported');
}

export async function listModelFiles(path: string, options: { allowSymlinks?: boolean } = {}): Promise<ModelListing> {
  const root = resolve(path);
  const allowSymlinks = options.allowSymlinks ?? false;
  const top = await lstat(root).catch((err: NodeJS.ErrnoException) => {
    throw new ModelHashError(err.code === 'ENOENT' ? 'not-found' : 'io', root, err.message, { cause: err });
  });
  if (top.isSymbolicLink() && !allowSymlinks) throw new ModelHashError('symlink', root, 'is a symbolic link (allowSymlinks to follow it)');
  const target = top.isSymbolicLink() ? await stat(root) : top;
  if (target.isFile()) {
    checkName(basename(root), root);
    return { root, kind: 'file', files: [{ path: basename(root), absolutePath: root, size: target.size }] };
  }
  if (!target.isDirectory()) throw new ModelHashError('unsupported-type', root, 'is neither a file nor a folder');

  const files: { key: Buffer; file: ModelFile }[] = [];
  const visited = new Set<string>([await realpath(root)]);
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      throw new ModelHashError('io', dir, (err as Error).message, { cause: err });
    }
    for (const entry of entries) {
      let name: string;
      try {
        name = strictUtf8.decode(entry.name);
      } catch {
        throw new ModelHashError('unsupported-name', join(dir, entry.name.toString('latin1')), 'file name is not valid UTF-8');
      }
      const abs = join(dir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      checkName(name, abs);
      let isFile = entry.isFile();
      let isDir = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        if (!allowSymlinks) throw new ModelHashError('symlink', abs, 'is a symbolic link (allowSymlinks to follow it)');
        const s = await stat(abs).catch((err: Error) => {
          throw new ModelHashError('not-found', abs, `broken symbolic link: ${err.message}`, { cause: err });
        });
        isFile = s.isFile();
        isDir = s.isDirectory();
      }
      if (isDir) {
        const real = await realpath(abs);
        if (visited.has(real)) throw new ModelHashError('symlink', abs, 'symbolic link loop');
        visited.add(real);
        await walk(abs, relPath);
      } else if (isFile) {
        files.push({ key: Buffer.from(relPath, 'utf8'), file: { path: relPath, absolutePath: abs, size: (await stat(abs)).size } });
      } else {
        throw new ModelHashError('unsupported-type', abs, 'is neither a file nor a folder');
      }
    }
  };
  await walk(root, '');
  if (files.length === 0) throw new ModelHashError('empty', root, 'folder contains no files');
  files.sort((a, b) => Buffer.compare(a.key, b.key));
  return { root, kind: 'folder', files: files.map((f) => f.file) };
}
