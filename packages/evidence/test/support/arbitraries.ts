/** fast-check generators of event logs and IMA lists, valid by construction. */
import fc from 'fast-check';
import { specIdEventData } from '../../src/eventlog/serialize.js';
import type { EventInput } from '../../src/eventlog/serialize.js';
import { digestNgField, imaTemplateData, joinFields, nameNgField } from '../../src/ima/template-data.js';
import { createHash } from 'node:crypto';
import { ALGS, ALG_IDS } from './reference.js';
import type { AlgId } from './reference.js';

const EVENT_TYPES = [0x1, 0x4, 0x5, 0x8, 0xd, 0x80000001, 0x80000002, 0x80000003, 0x80000007, 0x800000e0];

const startupLocality = fc
  .integer({ min: 0, max: 4 })
  .map((l) => new Uint8Array(Buffer.concat([Buffer.from('StartupLocality\0', 'latin1'), Buffer.from([l])])));

interface EventShape {
  pcrIndex: number;
  eventType: number;
  data: Uint8Array;
}

const eventShape: fc.Arbitrary<EventShape> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    pcrIndex: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 23 }) }, { weight: 1, arbitrary: fc.nat() }),
    eventType: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...EVENT_TYPES) }, { weight: 1, arbitrary: fc.nat() }),
    data: fc.uint8Array({ maxLength: 48 }),
  }) },
  { weight: 1, arbitrary: fc.record({ pcrIndex: fc.constant(0), eventType: fc.constant(0x3), data: startupLocality }) },
  { weight: 1, arbitrary: fc.record({ pcrIndex: fc.integer({ min: 0, max: 23 }), eventType: fc.constant(0x3), data: fc.uint8Array({ maxLength: 32 }) }) },
);

function digestFor(alg: AlgId): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: ALGS[alg].size, maxLength: ALGS[alg].size });
}

/** A SHA1-format log: TCG_PCR_EVENT entries only. */
export const sha1Log: fc.Arbitrary<EventInput[]> = fc.array(
  fc.tuple(eventShape, digestFor(0x0004)).map(([s, d]): EventInput => ({
    encoding: 'pcr-event',
    ...s,
    digests: [{ algorithmId: 0x0004, bank: 'sha1', digest: d }],
  })),
  { maxLength: 20 },
).filter((events) => !(events[0] && events[0].eventType === 0x3 && Buffer.from(events[0].data.subarray(0, 15)).toString() === 'Spec ID Event03'));

/** A crypto-agile log: a Spec ID header for 1-4 banks, then TCG_PCR_EVENT2 entries carrying those banks in any order. */
export const cryptoAgileLog: fc.Arbitrary<EventInput[]> = fc
  .shuffledSubarray(ALG_IDS, { minLength: 1 })
  .chain((algs) =>
    fc.tuple(
      fc.constant(algs),
      fc.array(
        fc.tuple(
          eventShape,
          fc.shuffledSubarray(algs, { minLength: 1 }).chain((present) => fc.tuple(...present.map((a) => digestFor(a).map((d) => ({ a, d }))))),
        ),
        { maxLength: 20 },
      ),
    ),
  )
  .map(([algs, events]) => [
    {
      encoding: 'pcr-event' as const,
      pcrIndex: 0,
      eventType: 0x3,
      digests: [{ algorithmId: 0x0004, bank: 'sha1', digest: new Uint8Array(20) }],
      data: specIdEventData(algs),
    },
    ...events.map(([s, ds]): EventInput => ({
      encoding: 'pcr-event2',
      ...s,
      digests: ds.map(({ a, d }) => ({ algorithmId: a, bank: ALGS[a].name, digest: d })),
    })),
  ]);

/** Either format, tagged with the format the parser must report. */
export const anyLog: fc.Arbitrary<{ format: 'sha1' | 'crypto-agile'; events: EventInput[] }> = fc.oneof(
  sha1Log.map((events) => ({ format: 'sha1' as const, events })),
  cryptoAgileLog.map((events) => ({ format: 'crypto-agile' as const, events })),
);

/** An IMA entry as the kernel would list it, for every template the parsers know (and violations). */
export interface GeneratedImaEntry {
  pcr: number;
  templateName: string;
  templateData: Uint8Array;
  templateHash: Uint8Array;
}

// Names as the kernel stores them: no NUL, newline or space (spaces become '_').
const pathBytes = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .map((b) => new Uint8Array(Buffer.from(b.map((x) => (x === 0 || x === 0x0a || x === 0x20 || x === 0x0d ? 0x5f : x)))));

const fileDigest = fc.constantFrom(['sha1', 20], ['sha256', 32], ['sha512', 64]).chain(([alg, size]) =>
  fc.uint8Array({ minLength: size as number, maxLength: size as number }).map((d) => ({ alg: alg as string, d })),
);

const templateData: fc.Arbitrary<{ templateName: string; templateData: Uint8Array; asciiSafe: boolean }> = fc.oneof(
  fc.tuple(fileDigest, pathBytes).map(([{ alg, d }, p]) => ({ templateName: 'ima-ng', templateData: joinFields([digestNgField(alg, d), nameNgField(p)]), asciiSafe: true })),
  fc.tuple(fileDigest, pathBytes, fc.uint8Array({ maxLength: 64 })).map(([{ alg, d }, p, sig]) => ({
    templateName: 'ima-sig',
    templateData: joinFields([digestNgField(alg, d), nameNgField(p), sig]),
    asciiSafe: true,
  })),
  fc.tuple(fileDigest, pathBytes, fc.uint8Array({ maxLength: 64 })).map(([{ alg, d }, p, buf]) => ({
    templateName: 'ima-buf',
    templateData: joinFields([digestNgField(alg, d), nameNgField(p), buf]),
    asciiSafe: true,
  })),
  fc.tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), pathBytes).map(([d, p]) => ({ templateName: 'ima', templateData: imaTemplateData(d, p), asciiSafe: true })),
  // A template the parsers do not know: only the binary form can carry it.
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ templateName: 'ima-future', templateData: b, asciiSafe: false })),
);

export const imaEntry: fc.Arbitrary<GeneratedImaEntry & { asciiSafe: boolean }> = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constant(10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 23 }) }),
    templateData,
    fc.integer({ min: 0, max: 20 }),
  )
  .map(([pcr, t, violationRoll]) => ({
    pcr,
    templateName: t.templateName,
    templateData: t.templateData,
    // One entry in 21 is a violation: logged with an all-zero template hash.
    templateHash: violationRoll === 0 ? new Uint8Array(20) : new Uint8Array(createHash('sha1').update(t.templateData).digest()),
    asciiSafe: t.asciiSafe,
  }));
