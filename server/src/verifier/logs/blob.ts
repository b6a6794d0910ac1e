import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ProtocolError, type Blob } from '@vigil/protocol/core';

const gunzipAsync = promisify(gunzip);

/**
 * `decodeBlob` (@vigil/protocol) without blocking the event loop: inflation
 * runs on libuv's thread pool, so a device sending a large (or hostile)
 * compressed log does not hold up other devices' verdicts. Inflation stops
 * at `maxBytes` (zlib's maxOutputLength), so a decompression bomb costs at
 * most that, and is refused with `invalid-compression`, as is a corrupt or
 * truncated stream.
 */
export async function decodeBlobAsync(blob: Blob, maxBytes: number): Promise<Uint8Array> {
  const raw = Buffer.from(blob.data, 'base64');
  if (blob.encoding === 'identity') {
    if (raw.length > maxBytes) throw new ProtocolError('payload-too-large', `blob of ${raw.length} bytes exceeds ${maxBytes}`);
    return raw;
  }
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new ProtocolError('invalid-compression', `gzip blob inflates beyond ${maxBytes} bytes`);
    throw new ProtocolError('invalid-compression', `gzip blob is not valid: ${(err as Error).message}`);
  }
}
