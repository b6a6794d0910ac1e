/**
 * Streaming SHA-256 of one file with large reads, two ways:
 * - overlapped: double-buffered, the next read runs on libuv's thread pool
 *   while this thread hashes the current buffer. Fastest when a core is free
 *   for the read (one file, or fewer hashing threads than cores);
 * - sequential: read, hash, read... in this thread. Fastest when every core
 *   is already hashing, as in a full worker pool: the extra read threads only
 *   compete for the cores.
 * Measurements in docs/benchmarks.md.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** 8 MiB: large enough that per-read overhead is negligible, small enough for several workers. */
export const DEFAULT_READ_SIZE = 8 << 20;
const MIN_READ_SIZE = 64 << 10;

export interface FileDigest {
  readonly digest: Uint8Array;
  readonly size: number;
}

export async function sha256File(path: string, options: { readSize?: number; onBytes?: (n: number) => void } = {}): Promise<FileDigest> {
  const fh = await open(path, 'r');
  try {
    const { size: statSize } = await fh.stat();
    const readSize = Math.max(MIN_READ_SIZE, Math.min(options.readSize ?? DEFAULT_READ_SIZE, statSize || MIN_READ_SIZE));
    let filling = Buffer.allocUnsafe(readSize);
    let spare = Buffer.allocUnsafe(readSize);
    const hash = createHash('sha256');
    let size = 0;
    let pending = fh.read(filling, 0, readSize, null);
    // If hashing or onBytes throws, the read in flight is abandoned (close()
    // waits for it): keep its possible rejection from going unhandled.
    pending.catch(() => undefined);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const filled = filling;
      filling = spare;
      spare = filled;
      pending = fh.read(filling, 0, readSize, null);
      pending.catch(() => undefined);
      hash.update(filled.subarray(0, bytesRead));
      size += bytesRead;
      options.onBytes?.(bytesRead);
    }
    return { digest: new Uint8Array(hash.digest()), size };
  } finally {
    await fh.close();
  }
}

/** Read, hash, read... without leaving this thread (for a worker when every core is busy hashing). */
export function sha256FileSequential(path: string, options: { readSize?: number; onBytes?: (n: number) => void } = {}): FileDigest {
  const fd = openSync(path, 'r');
  try {
    const statSize = fstatSync(fd).size;
    const readSize = Math.max(MIN_READ_SIZE, Math.min(options.readSize ?? DEFAULT_READ_SIZE, statSize || MIN_READ_SIZE));
    const buffer = Buffer.allocUnsafe(readSize);
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, readSize, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      size += n;
      options.onBytes?.(n);
    }
    return { digest: new Uint8Array(hash.digest()), size };
  } finally {
    closeSync(fd);
  }
}
