import { open } from 'node:fs/promises';
import { ImaParseError, parseImaLog } from '@vigil/evidence';
import { EvidenceError } from './errors.js';

/** Where Linux exposes the IMA measurement list in binary form. */
export const DEFAULT_IMA_LOG_PATH = '/sys/kernel/security/ima/binary_runtime_measurements';

export interface ImaSlice {
  /** Entries [offset, offset + count) in the kernel's binary format. */
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly count: number;
  /** Entries in the whole list when read. */
  readonly total: number;
}

/**
 * Reads the IMA list from an entry offset on. It remembers where each entry
 * of the last slice starts, so the next read (the server asks from the
 * entries it verified, at most the end of that slice) starts there instead
 * of re-reading the whole list; any other offset reads from the start.
 * `maxBytes` caps one slice (whole entries only): the rest follows in the
 * next attestation.
 */
export class ImaLogReader {
  /** Entry index of `#starts[0]`, absolute byte offsets of the last slice's entries, and the byte after its last one. */
  #base = 0;
  #starts: number[] = [];
  #end = 0;

  constructor(readonly path: string = DEFAULT_IMA_LOG_PATH) {}

  /** The slice from entry `offset`, or undefined when the list does not exist (no IMA). */
  async read(offset: number, maxBytes: number): Promise<ImaSlice | undefined> {
    let from = this.#known(offset) ?? { entries: 0, byte: 0 };
    let tail = await this.#readFrom(from.byte);
    if (tail === undefined) return undefined;
    let starts: number[];
    try {
      starts = this.#parse(tail, from.byte);
    } catch (err) {
      if (from.byte === 0) throw err;
      // The list changed under the remembered position (it restarted): read it whole.
      from = { entries: 0, byte: 0 };
      tail = (await this.#readFrom(0)) ?? new Uint8Array(0);
      starts = this.#parse(tail, 0);
    }
    if (offset > from.entries + starts.length) {
      // Asked for more than exists (a reboot restarted the list): send it all.
      offset = 0;
      if (from.byte !== 0) {
        from = { entries: 0, byte: 0 };
        tail = (await this.#readFrom(0)) ?? new Uint8Array(0);
        starts = this.#parse(tail, 0);
      }
    }
    const first = offset - from.entries;
    const startByte = first < starts.length ? starts[first]! : tail.length;
    let last = starts.length;
    const endOf = (i: number) => (i === starts.length ? tail.length : starts[i]!);
    while (last > first && endOf(last) - startByte > maxBytes) last--;
    const endByte = endOf(last);
    this.#base = offset;
    this.#starts = starts.slice(first, last).map((b) => from.byte + b);
    this.#end = from.byte + endByte;
    return { bytes: tail.subarray(startByte, endByte), offset, count: last - first, total: from.entries + starts.length };
  }

  /** Where entry `offset` starts, if the last slice tells. */
  #known(offset: number): { entries: number; byte: number } | undefined {
    const i = offset - this.#base;
    if (i < 0 || i > this.#starts.length) return undefined;
    return { entries: offset, byte: i === this.#starts.length ? this.#end : this.#starts[i]! };
  }

  /** Byte offsets (relative to `tail`) of each entry's start. */
  #parse(tail: Uint8Array, base: number): number[] {
    try {
      return parseImaLog(tail, { format: 'binary' }).map((e) => e.offset);
    } catch (err) {
      if (err instanceof ImaParseError) throw new EvidenceError('log-unreadable', `${this.path} at byte ${base + err.offset}: ${err.reason}`, { cause: err });
      throw err;
    }
  }

  async #readFrom(position: number): Promise<Uint8Array | undefined> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new EvidenceError('log-unreadable', `${this.path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // securityfs files report size 0: read until EOF rather than trusting stat.
      const chunks: Buffer[] = [];
      let pos = position;
      for (;;) {
        const buf = Buffer.allocUnsafe(1 << 20);
        const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      return Buffer.concat(chunks);
    } finally {
      await handle.close();
    }
  }
}
