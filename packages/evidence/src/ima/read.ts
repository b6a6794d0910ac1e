/**
 * Reading an IMA measurement list, ASCII or binary, from memory or as a
 * stream. The stream holds one chunk and the entry being parsed, never the
 * whole list: a 1-million-entry list replays in constant memory.
 */
import { ByteReader } from '../binary/byte-reader.js';
import { DecodeError, ShortReadError } from '../binary/errors.js';
import type { ByteSource } from '../sources/byte-source.js';
import { chunksOf } from '../sources/byte-source.js';
import { ChunkWindow } from '../sources/chunk-window.js';
import { parseImaAsciiLine } from './ascii.js';
import { readImaBinaryEntry } from './binary.js';
import type { ImaEntry, ImaLogFormat } from './entry.js';
import { ImaParseError } from './errors.js';

export interface ImaReadOptions {
  /** `auto` (default) tells them apart by the first byte: ASCII lines start with a digit or a space. */
  readonly format?: ImaLogFormat | 'auto';
  /**
   * The algorithm of the template hash column: `sha1` for the classic
   * `*_runtime_measurements` files, `sha256` for `*_runtime_measurements_sha256`.
   */
  readonly templateHashAlgorithm?: 'sha1' | 'sha256';
  /** Largest entry (ASCII line or binary template data) accepted, in bytes (default 1 MiB). */
  readonly maxEntrySize?: number;
}

export const DEFAULT_MAX_IMA_ENTRY_SIZE = 1 << 20;
const NL = 0x0a;

function isAsciiStart(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x30 && byte <= 0x39);
}

class ImaParser {
  index = 0;
  readonly #hashSize: number;
  readonly #maxEntry: number;

  constructor(
    readonly format: ImaLogFormat,
    options: ImaReadOptions,
  ) {
    this.#hashSize = options.templateHashAlgorithm === 'sha256' ? 32 : 20;
    this.#maxEntry = options.maxEntrySize ?? DEFAULT_MAX_IMA_ENTRY_SIZE;
  }

  /**
   * Parses the entry at the start of `view`. Returns the bytes consumed and the
   * entry (null for a blank line), or 'more' if the view ends inside it and
   * more input may follow (`needed`: bytes required from the view's start).
   */
  next(view: Uint8Array, offset: number, eof: boolean): { entry: ImaEntry | null; size: number } | { more: number } {
    try {
      return this.format === 'ascii' ? this.#line(view, offset, eof) : this.#binary(view, offset);
    } catch (err) {
      if (err instanceof ShortReadError) {
        // The parser only asks for bytes beyond the view; anything else would loop.
        if (err.needed <= view.length) throw new ImaParseError(err.offset, this.index, err.reason);
        if (err.needed > this.#maxEntry + 4096) {
          throw new ImaParseError(err.offset, this.index, `entry needs ${err.needed} bytes, more than the ${this.#maxEntry}-byte limit`);
        }
        if (eof) throw new ImaParseError(err.offset, this.index, `truncated: the entry needs ${err.needed - err.available} more bytes`);
        return { more: err.needed };
      }
      if (err instanceof DecodeError) throw new ImaParseError(err.offset, this.index, err.reason);
      throw err;
    }
  }

  #line(view: Uint8Array, offset: number, eof: boolean) {
    let end = view.indexOf(NL);
    if (end < 0) {
      if (view.length > this.#maxEntry) throw new ImaParseError(offset, this.index, `line longer than the ${this.#maxEntry}-byte limit`);
      if (!eof) return { more: view.length + 1 };
      end = view.length;
    }
    if (end > this.#maxEntry) throw new ImaParseError(offset, this.index, `line longer than the ${this.#maxEntry}-byte limit`);
    const size = Math.min(view.length, end + 1);
    if (end === 0) return { entry: null, size };
    const entry = parseImaAsciiLine(view.subarray(0, end), this.index, offset, this.#hashSize);
    this.index++;
    return { entry, size };
  }

  #binary(view: Uint8Array, offset: number) {
    const r = new ByteReader(view, offset);
    const entry = readImaBinaryEntry(r, this.index, this.#hashSize, this.#maxEntry);
    this.index++;
    return { entry, size: r.position };
  }
}

/** Parses a whole list held in memory. */
export function parseImaLog(bytes: Uint8Array, options: ImaReadOptions = {}): ImaEntry[] {
  if (bytes.length === 0) return [];
  const format = options.format && options.format !== 'auto' ? options.format : isAsciiStart(bytes[0]!) ? 'ascii' : 'binary';
  const parser = new ImaParser(format, options);
  const out: ImaEntry[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const step = parser.next(bytes.subarray(pos), pos, true);
    if ('more' in step) throw new Error('unreachable: a complete input never needs more');
    if (step.entry) out.push(step.entry);
    pos += step.size;
  }
  return out;
}

/** Streams the entries of a list from a file path, bytes or chunks. */
export async function* readImaLog(source: ByteSource, options: ImaReadOptions = {}): AsyncGenerator<ImaEntry, void, undefined> {
  const window = new ChunkWindow(chunksOf(source));
  try {
    if (await window.atEnd()) return;
    const first = window.view()[0]!;
    const format = options.format && options.format !== 'auto' ? options.format : isAsciiStart(first) ? 'ascii' : 'binary';
    const parser = new ImaParser(format, options);
    let eof = false;
    while (!(await window.atEnd())) {
      const step = parser.next(window.view(), window.offset, eof);
      if ('more' in step) {
        if (!(await window.fill(step.more))) eof = true;
        continue;
      }
      window.advance(step.size);
      if (step.entry) yield step.entry;
    }
  } finally {
    await window.close();
  }
}
