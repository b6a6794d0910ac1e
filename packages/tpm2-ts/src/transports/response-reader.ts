import { TpmTransportError } from '../errors.js';
import type { ByteStream } from './stream.js';

/** Smallest TPM response: tag, size, responseCode (Part 1 §18.2). */
export const RESPONSE_HEADER_SIZE = 10;

/**
 * Reads one TPM response from a stream: the 10-byte header, then as many
 * bytes as its size field says. The size is checked against
 * `maxResponseSize` before any more is read, so a corrupt header can neither
 * make us wait for gigabytes nor allocate them.
 */
export async function readTpmResponse(s: ByteStream, timeoutMs: number, maxResponseSize: number): Promise<Uint8Array> {
  const header = await s.read(RESPONSE_HEADER_SIZE, timeoutMs);
  const size = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(2);
  if (size < RESPONSE_HEADER_SIZE || size > maxResponseSize) {
    await s.close();
    throw new TpmTransportError(`${s.label}: response header gives size ${size}, outside [${RESPONSE_HEADER_SIZE}, ${maxResponseSize}]`);
  }
  const out = new Uint8Array(size);
  out.set(header);
  if (size > RESPONSE_HEADER_SIZE) out.set(await s.read(size - RESPONSE_HEADER_SIZE, timeoutMs), RESPONSE_HEADER_SIZE);
  if (s.unread > 0) {
    await s.close();
    throw new TpmTransportError(`${s.label}: ${s.unread} byte(s) beyond the ${size} its response header announced`);
  }
  return out;
}
