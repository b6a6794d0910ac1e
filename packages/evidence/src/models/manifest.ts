/**
 * The model manifest and its digest. The manifest is UTF-8 text with one line
 * per file, in the listing's order (bytewise by relative path):
 *
 *   <SHA-256 of the file, 64 lowercase hex> SP SP <relative path> LF
 *
 * which is exactly what `sha256sum` prints, so it can be checked with
 * `sha256sum -c` from the model folder. The manifest digest is the SHA-256 of
 * those bytes; it can be reproduced with
 *
 *   cd model && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
 */
import { createHash } from 'node:crypto';

export interface ManifestEntry {
  readonly path: string;
  /** Lowercase hex SHA-256. */
  readonly digest: string;
}

export function modelManifest(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `${e.digest}  ${e.path}\n`).join('');
}

export function manifestDigest(entries: readonly ManifestEntry[]): string {
  return createHash('sha256').update(modelManifest(entries), 'utf8').digest('hex');
}
