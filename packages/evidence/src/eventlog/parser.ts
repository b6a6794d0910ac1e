/**
 * TCG PC Client event log parser (PFP 1.05, 10.2 and 10.4.5.1): a SHA1 log is
 * a sequence of TCG_PCR_EVENT; a crypto-agile log starts with one
 * TCG_PCR_EVENT holding the Spec ID Event03, whose algorithm table gives the
 * digest size of every bank, followed by TCG_PCR_EVENT2 entries.
 *
 * Parsing is bounded by the input: every size field is checked against the
 * bytes actually present (and against `maxEventDataSize`) before it is used,
 * and anything inconsistent raises EventLogParseError with the byte offset and
 * event number. The same step parser serves an in-memory log and a stream.
 */
import { ByteReader } from '../binary/byte-reader.js';
import { bytesEqual } from '../binary/bytes.js';
import { decodeExact } from '../binary/codec.js';
import type { Codec } from '../binary/codec.js';
import { DecodeError, ShortReadError, nested } from '../binary/errors.js';
import { bankName, hashAlgorithmById } from '../crypto/hash-algorithms.js';
import type { ByteSource } from '../sources/byte-source.js';
import { chunksOf } from '../sources/byte-source.js';
import { ChunkWindow } from '../sources/chunk-window.js';
import { decodeEventData } from './decode/decode.js';
import { EventLogParseError } from './errors.js';
import type { EventLog, RawEvent, SpecIdEvent, TcgEvent } from './event.js';
import { EventType, eventTypeName } from './event-types.js';
import { SPEC_ID_EVENT03, TcgEfiSpecIdEvent, TcgPcrEvent, tcgPcrEvent2 } from './structures/tcg.js';
import type { TcgPcrEvent2 } from './structures/tcg.js';
import { verifyEventData } from './verification.js';

export interface EventLogParseOptions {
  /** Largest event data accepted, in bytes (default 16 MiB). Real events are a few KiB; db/dbx a few hundred. */
  readonly maxEventDataSize?: number;
}

export const DEFAULT_MAX_EVENT_DATA_SIZE = 16 << 20;
const SHA1_ALG = 0x0004;
/** Room for an event's fixed fields and digests on top of its data, for the size limit. */
const EVENT_OVERHEAD_LIMIT = 4096;

/** Parses one event at a time, remembering the format once the first event has been read. */
class EventParser {
  index = 0;
  specId: SpecIdEvent | null = null;
  #event2: Codec<TcgPcrEvent2> | undefined;
  readonly #maxEventData: number;
  readonly #maxEventBytes: number;

  constructor(options: EventLogParseOptions) {
    this.#maxEventData = options.maxEventDataSize ?? DEFAULT_MAX_EVENT_DATA_SIZE;
    this.#maxEventBytes = this.#maxEventData + EVENT_OVERHEAD_LIMIT;
  }

  /** Parses the event at the start of `view` (absolute `offset`); ShortReadError if `view` ends inside it. */
  next(view: Uint8Array, offset: number): { event: RawEvent; size: number } {
    const r = new ByteReader(view, offset);
    let event: RawEvent;
    try {
      event = this.#event2 ? this.#readEvent2(r, offset) : this.#readEvent1(r, offset);
    } catch (err) {
      if (err instanceof ShortReadError) {
        if (err.needed > this.#maxEventBytes) {
          throw new EventLogParseError(err.offset, this.index, `event needs ${err.needed} bytes, more than the ${this.#maxEventBytes}-byte limit`);
        }
        throw err;
      }
      if (err instanceof DecodeError) throw new EventLogParseError(err.offset, this.index, err.reason);
      throw err;
    }
    if (event.data.length > this.#maxEventData) {
      throw new EventLogParseError(offset, this.index, `event data of ${event.data.length} bytes exceeds the ${this.#maxEventData}-byte limit`);
    }
    this.index++;
    return { event, size: r.position };
  }

  #readEvent1(r: ByteReader, offset: number): RawEvent {
    const e = TcgPcrEvent.read(r);
    const event: RawEvent = {
      index: this.index,
      offset,
      encoding: 'pcr-event',
      pcrIndex: e.pcrIndex,
      eventType: e.eventType,
      digests: [{ algorithmId: SHA1_ALG, bank: 'sha1', digest: e.digest.slice() }],
      data: e.event.slice(),
    };
    if (isSpecIdHeader(event)) {
      this.specId = nested(() => parseSpecId(event.data, r.offset - event.data.length));
      this.#event2 = tcgPcrEvent2(new Map(this.specId.algorithms.map((a) => [a.algorithmId, a.digestSize])));
    }
    return event;
  }

  #readEvent2(r: ByteReader, offset: number): RawEvent {
    const e = this.#event2!.read(r);
    const seen = new Set<number>();
    for (const d of e.digests) {
      if (seen.has(d.hashAlg)) throw new DecodeError(offset, `two digests for algorithm 0x${d.hashAlg.toString(16)}`);
      seen.add(d.hashAlg);
    }
    return {
      index: this.index,
      offset,
      encoding: 'pcr-event2',
      pcrIndex: e.pcrIndex,
      eventType: e.eventType,
      digests: e.digests.map((d) => ({ algorithmId: d.hashAlg, bank: bankName(d.hashAlg), digest: d.digest.slice() })),
      data: e.event.slice(),
    };
  }
}

/** The first event of a crypto-agile log: EV_NO_ACTION on PCR 0 whose data starts with "Spec ID Event03". */
export function isSpecIdHeader(e: RawEvent): boolean {
  return (
    e.index === 0 &&
    e.encoding === 'pcr-event' &&
    e.eventType === EventType.EV_NO_ACTION &&
    e.pcrIndex === 0 &&
    e.data.length >= 16 &&
    bytesEqual(e.data.subarray(0, 16), SPEC_ID_EVENT03)
  );
}

function parseSpecId(data: Uint8Array, base: number): SpecIdEvent {
  const v = decodeExact(TcgEfiSpecIdEvent, new ByteReader(data, base));
  if (v.specVersionMajor !== 2 || v.specVersionMinor !== 0) {
    throw new DecodeError(base, `Spec ID event version ${v.specVersionMajor}.${v.specVersionMinor} is not 2.0`);
  }
  if (v.uintnSize !== 1 && v.uintnSize !== 2) throw new DecodeError(base, `Spec ID event uintnSize ${v.uintnSize} is not 1 or 2`);
  if (v.digestSizes.length === 0) throw new DecodeError(base, 'Spec ID event declares no algorithms');
  const seen = new Set<number>();
  for (const a of v.digestSizes) {
    const known = hashAlgorithmById(a.algorithmId);
    if (seen.has(a.algorithmId)) throw new DecodeError(base, `algorithm 0x${a.algorithmId.toString(16)} declared twice`);
    seen.add(a.algorithmId);
    if (known ? a.digestSize !== known.size : a.digestSize === 0 || a.digestSize > 64) {
      throw new DecodeError(base, `digest size ${a.digestSize} is wrong for algorithm 0x${a.algorithmId.toString(16)}`);
    }
  }
  return {
    platformClass: v.platformClass,
    specVersion: { major: v.specVersionMajor, minor: v.specVersionMinor, errata: v.specErrata },
    uintnSize: v.uintnSize === 1 ? 4 : 8,
    algorithms: v.digestSizes.map((a) => ({ algorithmId: a.algorithmId, bank: bankName(a.algorithmId), digestSize: a.digestSize })),
    vendorInfo: v.vendorInfo.slice(),
  };
}

function describe(raw: RawEvent, specId: SpecIdEvent | null): TcgEvent {
  const decoded = raw.index === 0 && specId ? { kind: 'spec-id' as const, specId } : decodeEventData(raw, specId?.uintnSize ?? 8);
  return { ...raw, typeName: eventTypeName(raw.eventType), verification: verifyEventData(raw), decoded };
}

function truncated(err: ShortReadError, index: number): EventLogParseError {
  return new EventLogParseError(err.offset, index, `truncated: the event needs ${err.needed - err.available} more bytes`);
}

/** Parses a whole event log held in memory. */
export function parseEventLog(bytes: Uint8Array, options: EventLogParseOptions = {}): EventLog {
  const parser = new EventParser(options);
  const events: TcgEvent[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    try {
      const { event, size } = parser.next(bytes.subarray(pos), pos);
      events.push(describe(event, parser.specId));
      pos += size;
    } catch (err) {
      if (err instanceof ShortReadError) throw truncated(err, parser.index);
      throw err;
    }
  }
  return { format: parser.specId ? 'crypto-agile' : 'sha1', specId: parser.specId, events };
}

/** Streams raw events (no decoding) and reports the parser so callers can see the format. */
export async function* readRawEvents(
  source: ByteSource,
  options: EventLogParseOptions = {},
  onHeader?: (specId: SpecIdEvent | null) => void,
): AsyncGenerator<RawEvent, void, undefined> {
  const parser = new EventParser(options);
  const window = new ChunkWindow(chunksOf(source));
  try {
    while (!(await window.atEnd())) {
      for (;;) {
        try {
          const { event, size } = parser.next(window.view(), window.offset);
          window.advance(size);
          if (event.index === 0) onHeader?.(parser.specId);
          yield event;
          break;
        } catch (err) {
          if (!(err instanceof ShortReadError)) throw err;
          // The parser only asks for bytes beyond the window; anything else would loop.
          if (err.needed <= window.available) throw new EventLogParseError(err.offset, parser.index, err.reason);
          if (!(await window.fill(err.needed))) throw truncated(err, parser.index);
        }
      }
    }
  } finally {
    await window.close();
  }
}

/**
 * Streams the events of a log from a file path, bytes or chunks, holding only
 * the event being parsed (plus at most one chunk) in memory.
 */
export async function* readEventLog(source: ByteSource, options: EventLogParseOptions = {}): AsyncGenerator<TcgEvent, void, undefined> {
  let specId: SpecIdEvent | null = null;
  for await (const raw of readRawEvents(source, options, (s) => (specId = s))) yield describe(raw, specId);
}
