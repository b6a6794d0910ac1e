import { gunzipSync, gzipSync } from 'node:zlib';
import { ProtocolError } from '../errors.js';
import type { Blob, BlobEncoding } from '../schema/attestation.js';

/**
 * Packs bytes into a message blob. `gzip` pays for text logs (IMA ascii
 * lines, model logs compress 4-8×); binary event logs compress less, so the
 * sender may choose `identity`.
 */
export function encodeBlob(bytes: Uint8Array, encoding: BlobEncoding = 'gzip'): Blob {
  const data = encoding === 'gzip' ? gzipSync(bytes, { level: 6 }) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { encoding, data: data.toString('base64') };
}

/**
 * Unpacks a blob that passed schema validation. Inflation stops at
 * `maxBytes` (zlib's maxOutputLength), so a decompression bomb costs at most
 * that much memory and is refused with `invalid-compression`; so is a
 * truncated or corrupt stream (the gzip CRC-32 and length trailer are checked).
 */
export function decodeBlob(blob: Blob, maxBytes: number): Uint8Array {
  const raw = Buffer.from(blob.data, 'base64');
  if (blob.encoding === 'identity') {
    if (raw.length > maxBytes) throw new ProtocolError('payload-too-large', `blob of ${raw.length} bytes exceeds ${maxBytes}`);
    return raw;
  }
  try {
    // Default finishFlush (Z_FINISH): a truncated stream is an error, not a shorter log.
    return gunzipSync(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ProtocolError('invalid-compression', `gzip blob inflates beyond ${maxBytes} bytes`);
    }
    throw new ProtocolError('invalid-compression', `gzip blob is not valid: ${(err as Error).message}`);
  }
}
