import { sameFingerprint, type FileFingerprint } from './fingerprint.js';

/** How the model files differ from the last measurement. */
export interface ModelChanges {
  /** New files and files whose fingerprint changed: these are re-hashed. */
  readonly changed: readonly string[];
  /** Files that are gone. */
  readonly removed: readonly string[];
}

/** Compares two scans by fingerprint; unchanged files are not listed (and not re-read). */
export function diffFingerprints(known: ReadonlyMap<string, FileFingerprint>, current: ReadonlyMap<string, FileFingerprint>): ModelChanges {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [path, fp] of current) {
    const before = known.get(path);
    if (before === undefined || !sameFingerprint(before, fp)) changed.push(path);
  }
  for (const path of known.keys()) if (!current.has(path)) removed.push(path);
  return { changed, removed };
}

export function hasChanges(c: ModelChanges): boolean {
  return c.changed.length > 0 || c.removed.length > 0;
}
