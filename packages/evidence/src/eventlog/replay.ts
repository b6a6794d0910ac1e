/**
 * Event log replay: the PCR values a TPM holds after the measurements a log
 * records, for every bank in the log. Rules (PFP 1.05, 10.4.5): EV_NO_ACTION
 * events are never extended; a StartupLocality event sets PCR 0's start value
 * to the locality in its last byte; every other PCR starts at zero. Only the
 * digests count: event types (other than EV_NO_ACTION) and data do not.
 */
import { bytesEqual } from '../binary/bytes.js';
import { bankName } from '../crypto/hash-algorithms.js';
import { PcrBanks } from '../crypto/pcr-banks.js';
import type { PcrValuesJson } from '../crypto/pcr-banks.js';
import type { ByteSource } from '../sources/byte-source.js';
import type { EventLogFormat, RawEvent } from './event.js';
import { EventType } from './event-types.js';
import type { EventLogParseOptions } from './parser.js';
import { isSpecIdHeader, readRawEvents } from './parser.js';
import { STARTUP_LOCALITY } from './structures/tcg.js';

export interface EventLogReplay {
  readonly format: EventLogFormat;
  /** Bank name -> PCR index -> value, for every PCR at least one event extended. */
  readonly pcrs: ReadonlyMap<string, ReadonlyMap<number, Uint8Array>>;
  /** Banks whose hash algorithm this Node build cannot compute; they are missing from `pcrs`. */
  readonly unsupportedBanks: readonly string[];
}

/** The JSON form, identical in shape to the fixtures' `.expected.json` files. */
export interface EventLogReplayJson {
  format: EventLogFormat;
  pcrs: PcrValuesJson;
}

/** Folds events one at a time, so a log of any length replays in constant memory. */
export class EventLogReplayer {
  readonly #banks = new PcrBanks();
  #format: EventLogFormat = 'sha1';

  add(e: RawEvent): void {
    if (isSpecIdHeader(e)) {
      this.#format = 'crypto-agile';
      return;
    }
    if (e.eventType === EventType.EV_NO_ACTION) {
      if (e.pcrIndex === 0 && e.data.length === 17 && bytesEqual(e.data.subarray(0, 16), STARTUP_LOCALITY)) {
        this.#banks.startupLocality(e.data[16]!);
      }
      return;
    }
    for (const d of e.digests) this.#banks.extend(d.algorithmId, e.pcrIndex, d.digest);
  }

  result(): EventLogReplay {
    return { format: this.#format, pcrs: this.#banks.toMap(), unsupportedBanks: this.#banks.unsupportedAlgorithms.map(bankName) };
  }
}

/** Replays events already parsed (e.g. `parseEventLog(bytes).events`). */
export function replayEvents(events: Iterable<RawEvent>): EventLogReplay {
  const r = new EventLogReplayer();
  for (const e of events) r.add(e);
  return r.result();
}

/** Streams a log from a file path, bytes or chunks and replays it without keeping its events. */
export async function replayEventLog(source: ByteSource, options: EventLogParseOptions = {}): Promise<EventLogReplay> {
  const r = new EventLogReplayer();
  for await (const e of readRawEvents(source, options)) r.add(e);
  return r.result();
}

export function replayToJson(replay: EventLogReplay): EventLogReplayJson {
  const pcrs: PcrValuesJson = {};
  for (const [bank, values] of replay.pcrs) {
    const out: Record<string, string> = {};
    for (const [index, value] of values) out[String(index)] = Buffer.from(value).toString('hex');
    pcrs[bank] = out;
  }
  return { format: replay.format, pcrs };
}
