import { lstat, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';

/**
 * What identifies a file's content without reading it: the same device,
 * inode, size, mtime and ctime (nanoseconds) mean the same bytes, the way
 * IMA and backup tools decide. ctime matters because mtime can be set back
 * with utimes(2) after a write, but ctime cannot be set by a user; the inode
 * matters because an editor or a deployment replaces a file by renaming a
 * new one over it, which may keep size and mtime.
 */
export interface FileFingerprint {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export function fingerprintFromStats(s: BigIntStats): FileFingerprint {
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

export function sameFingerprint(a: FileFingerprint, b: FileFingerprint): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** The fingerprint of the file at `path` (following a link only if asked), or undefined when it is gone. */
export async function fingerprintOf(path: string, followSymlinks: boolean): Promise<FileFingerprint | undefined> {
  try {
    const s = followSymlinks ? await stat(path, { bigint: true }) : await lstat(path, { bigint: true });
    return fingerprintFromStats(s);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}
