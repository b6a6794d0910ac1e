import { gzipSync } from 'node:zlib';
import type { Blob } from '@vigil/protocol';

/**
 * A log as a message blob, gzip-compressed when that saves at least a
 * tenth (text logs shrink 4-8×; a binary event log about 2×; an already
 * small chunk may not pay the header).
 */
export function packBlob(bytes: Uint8Array): Blob {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (raw.length >= 256) {
    const gz = gzipSync(raw, { level: 6 });
    if (gz.length < raw.length * 0.9) return { encoding: 'gzip', data: gz.toString('base64') };
  }
  return { encoding: 'identity', data: raw.toString('base64') };
}

/** Bytes a blob carries on the wire (what the protocol's size limits count). */
export function blobBytes(blob: Blob): number {
  return Buffer.byteLength(blob.data, 'base64');
}
