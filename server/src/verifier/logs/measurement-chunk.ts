import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ImaParseError, readImaLog, type ImaEntry } from '@vigil/evidence';
import { ProtocolError, type ImaLogChunk } from '@vigil/protocol/core';
import { decodeBlobAsync } from './blob.js';

/** Entries parsed between two yields to the event loop. */
const ENTRIES_PER_SLICE = 1000;
/** Largest entry (line or binary record) accepted: IMA's are a few hundred bytes, paths at most 4 KiB. */
const MAX_ENTRY = 64 * 1024;

export class MeasurementChunkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MeasurementChunkError';
  }
}

/**
 * The entries of an IMA or model log chunk: the blob inflated (bounded, off
 * the event loop), parsed in its declared format, yielding to the event loop
 * every thousand entries, and its `count` checked. Throws
 * MeasurementChunkError for anything malformed.
 */
export async function readMeasurementChunk(chunk: ImaLogChunk, maxInflated: number): Promise<ImaEntry[]> {
  let bytes: Uint8Array;
  try {
    bytes = await decodeBlobAsync(chunk.blob, maxInflated);
  } catch (err) {
    if (err instanceof ProtocolError) throw new MeasurementChunkError(err.message);
    throw err;
  }
  const entries: ImaEntry[] = [];
  try {
    for await (const e of readImaLog(bytes, { format: chunk.format === 'ima-ascii' ? 'ascii' : 'binary', maxEntrySize: MAX_ENTRY })) {
      entries.push(e);
      if (entries.length > chunk.count) throw new MeasurementChunkError(`the chunk holds more than the ${chunk.count} entries it declares`);
      if (entries.length % ENTRIES_PER_SLICE === 0) await yieldToEventLoop();
    }
  } catch (err) {
    if (err instanceof ImaParseError) throw new MeasurementChunkError(err.message);
    throw err;
  }
  if (entries.length !== chunk.count) throw new MeasurementChunkError(`the chunk declares ${chunk.count} entries but holds ${entries.length}`);
  return entries;
}
