/**
 * Property tests for IMA lists: generated entries written as ASCII or binary
 * and read back replay like a straightforward reference fold; random,
 * truncated and bit-flipped lists raise only ImaParseError, identically in
 * memory and streamed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatImaAsciiLine } from '../src/ima/ascii.js';
import { serializeImaBinary } from '../src/ima/binary.js';
import { ImaParseError } from '../src/ima/errors.js';
import { parseImaLog, readImaLog } from '../src/ima/read.js';
import type { ImaReadOptions } from '../src/ima/read.js';
import { imaPcrsToJson, replayImaEntries } from '../src/ima/replay.js';
import { imaEntry } from './support/arbitraries.js';
import { referenceImaReplay } from './support/reference.js';

const asciiList = (entries: readonly Parameters<typeof formatImaAsciiLine>[0][]) =>
  Buffer.concat(entries.flatMap((e) => [Buffer.from(formatImaAsciiLine(e)), Buffer.from('\n')]));

type Outcome = { ok: true; entries: number; pcrs: unknown } | { ok: false; offset: number; entryIndex: number };

function parseOutcome(bytes: Uint8Array, options: ImaReadOptions): Outcome {
  try {
    const entries = parseImaLog(bytes, options);
    return { ok: true, entries: entries.length, pcrs: imaPcrsToJson(replayImaEntries(entries)) };
  } catch (err) {
    if (!(err instanceof ImaParseError)) throw err;
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(bytes.length);
    return { ok: false, offset: err.offset, entryIndex: err.entryIndex };
  }
}

async function streamOutcome(bytes: Uint8Array, chunk: number, options: ImaReadOptions): Promise<Outcome> {
  const chunks = async function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  };
  try {
    const entries = [];
    for await (const e of readImaLog(chunks(), options)) entries.push(e);
    return { ok: true, entries: entries.length, pcrs: imaPcrsToJson(replayImaEntries(entries)) };
  } catch (err) {
    if (!(err instanceof ImaParseError)) throw err;
    return { ok: false, offset: err.offset, entryIndex: err.entryIndex };
  }
}

const format = fc.constantFrom<ImaReadOptions>({ format: 'ascii' }, { format: 'binary' }, { format: 'auto' });

describe('IMA properties', () => {
  it('ASCII: replay(parse(format(entries))) equals the reference fold', () => {
    fc.assert(
      fc.property(fc.array(imaEntry.filter((e) => e.asciiSafe), { maxLength: 30 }), (entries) => {
        const parsed = parseImaLog(asciiList(entries), { format: 'ascii' });
        expect(parsed.map((e) => Buffer.from(e.templateData!).toString('hex'))).toEqual(entries.map((e) => Buffer.from(e.templateData).toString('hex')));
        const r = replayImaEntries(parsed);
        expect(r.templateHashMismatches).toEqual([]);
        expect(imaPcrsToJson(r)).toEqual(referenceImaReplay(entries));
      }),
      { numRuns: 200 },
    );
  });

  it('binary: replay(parse(serialize(entries))) equals the reference fold, unknown templates included', () => {
    fc.assert(
      fc.property(fc.array(imaEntry, { maxLength: 30 }), (entries) => {
        const bin = serializeImaBinary(entries);
        const parsed = parseImaLog(bin, { format: 'binary' });
        expect(imaPcrsToJson(replayImaEntries(parsed))).toEqual(referenceImaReplay(entries));
        expect(Buffer.from(serializeImaBinary(parsed)).equals(Buffer.from(bin))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes raise only ImaParseError, the same in memory and streamed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), format, fc.integer({ min: 1, max: 61 }), async (bytes, options, chunk) => {
        expect(await streamOutcome(bytes, chunk, options)).toEqual(parseOutcome(bytes, options));
      }),
      { numRuns: 300 },
    );
  });

  it('truncated and bit-flipped lists raise only ImaParseError, the same in memory and streamed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(imaEntry.filter((e) => e.asciiSafe), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (entries, ascii, cut, flips) => {
          const full = ascii ? asciiList(entries) : Buffer.from(serializeImaBinary(entries));
          const bytes = full.subarray(0, Math.max(1, Math.floor(full.length * cut))).slice();
          for (const f of flips) bytes[(f >>> 3) % bytes.length]! ^= 1 << (f & 7);
          const options: ImaReadOptions = { format: ascii ? 'ascii' : 'binary' };
          expect(await streamOutcome(bytes, 17, options)).toEqual(parseOutcome(bytes, options));
        },
      ),
      { numRuns: 300 },
    );
  });
});
