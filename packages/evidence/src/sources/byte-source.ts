import { createReadStream } from 'node:fs';

/**
 * Where a log comes from: a file path, bytes already in memory, or a stream of
 * chunks (a Node Readable, a fetch body, a generator). Parsers read it chunk by
 * chunk and keep only the part they are working on.
 */
export type ByteSource = string | URL | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Read size for file sources. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;

export async function* chunksOf(source: ByteSource, chunkSize = DEFAULT_CHUNK_SIZE): AsyncGenerator<Uint8Array, void, undefined> {
  if (typeof source === 'string' || source instanceof URL) {
    const stream = createReadStream(source, { highWaterMark: chunkSize });
    for await (const chunk of stream) yield chunk as Buffer;
    return;
  }
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  if (Symbol.asyncIterator in source) {
    for await (const chunk of source) yield chunk;
    return;
  }
  yield* source;
}
