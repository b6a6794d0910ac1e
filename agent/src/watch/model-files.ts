import type { Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fingerprintFromStats, type FileFingerprint } from './fingerprint.js';

/** A model path that cannot be measured as it stands: the scan reports it and goes on. */
export interface ScanProblem {
  readonly path: string;
  readonly message: string;
}

export interface ModelFileScan {
  /** Every regular file under the model roots, by absolute path. */
  readonly files: ReadonlyMap<string, FileFingerprint>;
  readonly problems: readonly ScanProblem[];
}

export interface ScanOptions {
  readonly followSymlinks: boolean;
  /** Bound on the files listed (a model root pointed at `/` must not exhaust memory). Default 100,000. */
  readonly maxFiles?: number;
}

export const DEFAULT_MAX_MODEL_FILES = 100_000;

/**
 * Lists the files of the model roots (files or folders, walked recursively)
 * with their fingerprints, by stat only: nothing is read. A missing root, a
 * symbolic link (unless followed), a socket or FIFO, or an unreadable folder
 * is reported as a problem, not thrown, so one bad path does not stop the
 * watching of the others.
 */
export async function scanModelFiles(roots: readonly string[], options: ScanOptions): Promise<ModelFileScan> {
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_MODEL_FILES;
  const files = new Map<string, FileFingerprint>();
  const problems: ScanProblem[] = [];
  const visitedDirs = new Set<string>();

  const visit = async (path: string, depth: number): Promise<void> => {
    if (files.size >= maxFiles) return;
    let s;
    try {
      s = await lstat(path, { bigint: true });
      if (s.isSymbolicLink()) {
        if (!options.followSymlinks) {
          problems.push({ path, message: 'is a symbolic link (watch.followSymlinks to follow it)' });
          return;
        }
        s = await stat(path, { bigint: true });
      }
    } catch (err) {
      problems.push({ path, message: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message });
      return;
    }
    if (s.isFile()) {
      files.set(path, fingerprintFromStats(s));
      return;
    }
    if (!s.isDirectory()) {
      problems.push({ path, message: 'is neither a file nor a folder' });
      return;
    }
    // A followed link may lead back up the tree; dev:ino names a folder whatever the path.
    const id = `${s.dev}:${s.ino}`;
    if (visitedDirs.has(id) || depth > 64) {
      problems.push({ path, message: 'folder loop or nesting deeper than 64' });
      return;
    }
    visitedDirs.add(id);
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (err) {
      problems.push({ path, message: (err as Error).message });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) await visit(join(path, e.name), depth + 1);
  };

  for (const root of roots) await visit(resolve(root), 0);
  if (files.size >= maxFiles) problems.push({ path: roots.join(', '), message: `more than ${maxFiles} files: the rest are not watched` });
  return { files, problems };
}
