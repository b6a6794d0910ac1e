/**
 * Malformed event logs: every failure is an EventLogParseError naming the byte
 * offset and the event number, and no size field makes the parser read or
 * allocate beyond the input.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EventLogParseError } from '../src/eventlog/errors.js';
import { parseEventLog, readEventLog } from '../src/eventlog/parser.js';
import { replayEventLog } from '../src/eventlog/replay.js';
import { serializeEventLog, specIdEventData } from '../src/eventlog/serialize.js';

const fixture = new Uint8Array(
  readFileSync(fileURLToPath(new URL('../../../../shared/fixtures/eventlogs/tpm2-tools-bootorder.bin', import.meta.url))),
);

function parseError(bytes: Uint8Array): EventLogParseError {
  try {
    parseEventLog(bytes);
  } catch (err) {
    if (err instanceof EventLogParseError) return err;
    throw err;
  }
  throw new Error('expected EventLogParseError');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** A crypto-agile header for SHA-256 only. */
const header = serializeEventLog([
  { encoding: 'pcr-event', pcrIndex: 0, eventType: 3, digests: [{ algorithmId: 4, bank: 'sha1', digest: new Uint8Array(20) }], data: specIdEventData([0x000b]) },
]);

describe('event log parse errors', () => {
  it('a log cut anywhere fails at the cut, in the event being cut', () => {
    const boundaries = new Set<number>();
    const events = parseEventLog(fixture).events;
    for (const e of events) boundaries.add(e.offset);
    boundaries.add(fixture.length);
    for (let cut = 1; cut < fixture.length; cut += 101) {
      const bytes = fixture.subarray(0, cut);
      if (boundaries.has(cut)) {
        expect(parseEventLog(bytes).events.length).toBe(events.filter((e) => e.offset < cut).length);
        continue;
      }
      const err = parseError(bytes);
      const cutEvent = events.filter((e) => e.offset < cut).at(-1)!;
      expect(err.eventIndex).toBe(cutEvent.index);
      expect(err.offset).toBeGreaterThanOrEqual(cutEvent.offset);
      expect(err.offset).toBeLessThanOrEqual(cut);
      expect(err.reason).toMatch(/truncated/);
    }
  });

  it('refuses an event size beyond the limit without asking the stream for it', async () => {
    const event = Buffer.concat([u32(0), u32(1), Buffer.alloc(20), u32(0xffff_fff0), Buffer.alloc(8)]);
    let pulls = 0;
    const endless = async function* () {
      yield new Uint8Array(event);
      for (;;) {
        pulls++;
        yield new Uint8Array(1 << 16);
      }
    };
    await expect(replayEventLog(endless())).rejects.toThrow(EventLogParseError);
    expect(pulls).toBe(0);
    const err = parseError(new Uint8Array(event));
    expect(err.eventIndex).toBe(0);
    expect(err.offset).toBe(32); // where the announced data would start
    expect(err.reason).toMatch(/limit/);
  });

  it('honours a smaller maxEventDataSize', () => {
    const event = serializeEventLog([{ encoding: 'pcr-event', pcrIndex: 1, eventType: 1, digests: [{ algorithmId: 4, bank: 'sha1', digest: new Uint8Array(20) }], data: new Uint8Array(10_000) }]);
    expect(parseEventLog(event).events).toHaveLength(1);
    expect(() => parseEventLog(event, { maxEventDataSize: 1000 })).toThrow(/limit/);
  });

  it('rejects a digest algorithm the Spec ID event did not declare', () => {
    const bad = Buffer.concat([header, u32(1), u32(4), u32(1), Buffer.from([0x04, 0x00]), Buffer.alloc(20), u32(0), Buffer.alloc(16)]);
    const err = parseError(new Uint8Array(bad));
    expect(err.eventIndex).toBe(1);
    expect(err.offset).toBe(header.length + 12);
    expect(err.reason).toMatch(/0x0004 is not declared/);
  });

  it('rejects two digests of the same bank in one event', () => {
    const sha = Buffer.concat([Buffer.from([0x0b, 0x00]), Buffer.alloc(32)]);
    const bad = Buffer.concat([header, u32(1), u32(4), u32(2), sha, sha, u32(0)]);
    expect(parseError(new Uint8Array(bad)).reason).toMatch(/two digests/);
  });

  it('bounds a digest count by the bytes present', async () => {
    const bad = Buffer.concat([header, u32(1), u32(4), u32(0x7fff_ffff), Buffer.from([0x0b, 0x00]), Buffer.alloc(32)]);
    expect(parseError(new Uint8Array(bad)).eventIndex).toBe(1);
    await expect(replayEventLog(new Uint8Array(bad))).rejects.toThrow(EventLogParseError);
  });

  it('rejects a Spec ID event with a wrong digest size or a repeated algorithm', () => {
    const spec = Buffer.from(specIdEventData([0x000b, 0x0004]));
    // digestSizes start at 16 + 4 + 4 + 4 = 28: { 0x000b, 32 } { 0x0004, 20 }
    const wrongSize = Buffer.from(spec);
    wrongSize.writeUInt16LE(31, 30);
    const repeated = Buffer.from(spec);
    repeated.writeUInt16LE(0x000b, 32);
    repeated.writeUInt16LE(32, 34);
    for (const data of [wrongSize, repeated]) {
      const log = serializeEventLog([{ encoding: 'pcr-event', pcrIndex: 0, eventType: 3, digests: [{ algorithmId: 4, bank: 'sha1', digest: new Uint8Array(20) }], data }]);
      const err = parseError(log);
      expect(err.eventIndex).toBe(0);
      expect(err.offset).toBe(32);
    }
  });

  it('streams lazily: the first event arrives before the rest of the log is read', async () => {
    let pulled = 0;
    const source = async function* () {
      for (let i = 0; i < fixture.length; i += 512) {
        pulled++;
        yield fixture.subarray(i, i + 512);
      }
    };
    const it = readEventLog(source())[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(pulled).toBe(1);
    await it.return?.();
  });
});
