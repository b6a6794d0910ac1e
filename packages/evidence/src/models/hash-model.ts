/**
 * Measures a model: a single file or a folder of files. Each file gets its
 * SHA-256; the model gets the digest of its manifest (manifest.ts). A single
 * file is hashed in the calling thread with double-buffered large reads; the
 * files of a folder are hashed in parallel on a bounded pool of worker
 * threads, largest first so the pool finishes together, each worker reading
 * and hashing in turn once the pool fills every core. These choices come from
 * measurements (docs/benchmarks.md, "Model hashing").
 */
import { availableParallelism } from 'node:os';
import { ModelHashError } from './errors.js';
import { DEFAULT_READ_SIZE, sha256File } from './hash-file.js';
import type { FileDigest } from './hash-file.js';
import { manifestDigest } from './manifest.js';
import { listModelFiles } from './walk.js';
import type { ModelFile } from './walk.js';
import { HashWorkerPool } from './worker-pool.js';

export interface HashProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
}

export interface HashModelOptions {
  /** Follow symbolic links instead of refusing them (default false). */
  readonly allowSymlinks?: boolean;
  /** Worker threads used for a folder (default: the number of cores). 1 still uses one worker. */
  readonly concurrency?: number;
  /** Bytes per read (default 8 MiB). */
  readonly readSize?: number;
  /** Called after every read with running totals. */
  readonly onProgress?: (progress: HashProgress) => void;
}

export interface ModelFileDigest extends ModelFile {
  /** SHA-256, lowercase hex. */
  readonly digest: string;
}

export interface ModelDigest {
  /** The measured path, absolute. */
  readonly root: string;
  readonly kind: 'file' | 'folder';
  /** In manifest order. */
  readonly files: readonly ModelFileDigest[];
  /** SHA-256 of the manifest, lowercase hex. */
  readonly manifestDigest: string;
  readonly totalBytes: number;
}

export async function hashModel(path: string, options: HashModelOptions = {}): Promise<ModelDigest> {
  const listing = await listModelFiles(path, options);
  const readSize = options.readSize ?? DEFAULT_READ_SIZE;
  const bytesTotal = listing.files.reduce((n, f) => n + f.size, 0);
  let bytesDone = 0;
  let filesDone = 0;
  const onBytes = (n: number) => {
    bytesDone += n;
    options.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: listing.files.length });
  };
  const finished = (d: FileDigest) => {
    filesDone++;
    options.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: listing.files.length });
    return d;
  };

  let digests: FileDigest[];
  if (listing.kind === 'file') {
    const f = listing.files[0]!;
    digests = [finished(await sha256File(f.absolutePath, { readSize, onBytes }).catch((err: unknown) => Promise.reject(ioError(f, err))))];
  } else {
    const size = Math.max(1, Math.min(options.concurrency ?? availableParallelism(), listing.files.length));
    const pool = new HashWorkerPool(size);
    try {
      const order = listing.files.map((f, i) => ({ f, i })).sort((a, b) => b.f.size - a.f.size);
      const results = new Array<FileDigest>(listing.files.length);
      await Promise.all(order.map(async ({ f, i }) => (results[i] = finished(await pool.hash(f.absolutePath, readSize, onBytes)))));
      digests = results;
    } finally {
      await pool.close();
    }
  }

  const files = listing.files.map((f, i) => ({ ...f, size: digests[i]!.size, digest: Buffer.from(digests[i]!.digest).toString('hex') }));
  return {
    root: listing.root,
    kind: listing.kind,
    files,
    manifestDigest: manifestDigest(files),
    totalBytes: files.reduce((n, f) => n + f.size, 0),
  };
}

function ioError(f: ModelFile, err: unknown): ModelHashError {
  if (err instanceof ModelHashError) return err;
  const e = err as NodeJS.ErrnoException;
  return new ModelHashError(e.code === 'ENOENT' ? 'not-found' : 'io', f.absolutePath, e.message, { cause: err });
}
