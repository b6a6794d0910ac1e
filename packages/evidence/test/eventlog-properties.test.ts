/**
 * Property tests: generated logs replay like a straightforward reference fold
 * after a round trip through the binary format, and the parser given random,
 * truncated or bit-flipped logs either parses them or raises
 * EventLogParseError, identically in memory and streamed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLogParseError } from '../src/eventlog/errors.js';
import { parseEventLog, readEventLog } from '../src/eventlog/parser.js';
import { replayEventLog, replayEvents, replayToJson } from '../src/eventlog/replay.js';
import { serializeEventLog } from '../src/eventlog/serialize.js';
import { anyLog } from './support/arbitraries.js';
import { referenceEventLogReplay } from './support/reference.js';

type Outcome = { ok: true; events: number; json: unknown } | { ok: false; offset: number; eventIndex: number };

function parseOutcome(bytes: Uint8Array): Outcome {
  try {
    const log = parseEventLog(bytes);
    return { ok: true, events: log.events.length, json: replayToJson(replayEvents(log.events)) };
  } catch (err) {
    if (!(err instanceof EventLogParseError)) throw err;
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(bytes.length);
    expect(err.eventIndex).toBeGreaterThanOrEqual(0);
    return { ok: false, offset: err.offset, eventIndex: err.eventIndex };
  }
}

async function streamOutcome(bytes: Uint8Array, chunk: number): Promise<Outcome> {
  const chunks = function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  };
  try {
    let events = 0;
    for await (const _ of readEventLog(chunks())) events++;
    return { ok: true, events, json: replayToJson(await replayEventLog(chunks())) };
  } catch (err) {
    if (!(err instanceof EventLogParseError)) throw err;
    return { ok: false, offset: err.offset, eventIndex: err.eventIndex };
  }
}

describe('event log properties', () => {
  it('replay(parse(serialize(events))) equals the reference fold', () => {
    fc.assert(
      fc.property(anyLog, ({ format, events }) => {
        const bytes = serializeEventLog(events);
        const log = parseEventLog(bytes);
        expect(log.format).toBe(format);
        expect(replayToJson(replayEvents(log.events)).pcrs).toEqual(referenceEventLogReplay(events));
        expect(Buffer.from(serializeEventLog(log.events)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('streamed replay equals in-memory replay for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(anyLog, fc.integer({ min: 1, max: 64 }), async ({ events }, chunk) => {
        const bytes = serializeEventLog(events);
        expect(await streamOutcome(bytes, chunk)).toEqual(parseOutcome(bytes));
      }),
      { numRuns: 100 },
    );
  });

  it('random bytes raise only EventLogParseError, the same in memory and streamed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.integer({ min: 1, max: 97 }), async (bytes, chunk) => {
        expect(await streamOutcome(bytes, chunk)).toEqual(parseOutcome(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('truncated logs raise only EventLogParseError, naming an offset inside the log', async () => {
    await fc.assert(
      fc.asyncProperty(anyLog, fc.double({ min: 0, max: 1, noNaN: true }), async ({ events }, cut) => {
        const bytes = serializeEventLog(events);
        const truncated = bytes.subarray(0, Math.floor(bytes.length * cut));
        expect(await streamOutcome(truncated, 13)).toEqual(parseOutcome(truncated));
      }),
      { numRuns: 300 },
    );
  });

  it('bit-flipped logs raise only EventLogParseError, the same in memory and streamed', async () => {
    await fc.assert(
      fc.asyncProperty(anyLog, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), async ({ events }, flips) => {
        const bytes = serializeEventLog(events).slice();
        if (bytes.length === 0) return;
        for (const f of flips) bytes[(f >>> 3) % bytes.length]! ^= 1 << (f & 7);
        expect(await streamOutcome(bytes, 29)).toEqual(parseOutcome(bytes));
      }),
      { numRuns: 300 },
    );
  });
});
