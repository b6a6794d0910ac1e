/**
 * Every event log in ../shared/fixtures/eventlogs must replay to exactly its
 * .expected.json (computed by an independent replay, checked against
 * tpm2_eventlog). The folder is enumerated, so a new fixture is tested too.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEventLog, readEventLog } from '../src/eventlog/parser.js';
import { replayEventLog, replayEvents, replayToJson } from '../src/eventlog/replay.js';
import { serializeEventLog } from '../src/eventlog/serialize.js';

const dir = fileURLToPath(new URL('../../../../shared/fixtures/eventlogs/', import.meta.url));
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => f.slice(0, -'.bin'.length))
  .sort();

function load(name: string) {
  return {
    bin: new Uint8Array(readFileSync(`${dir}${name}.bin`)),
    expected: JSON.parse(readFileSync(`${dir}${name}.expected.json`, 'utf8')) as unknown,
  };
}

describe('event log fixtures', () => {
  it('finds the fixtures folder', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(11);
  });

  describe.each(fixtures)('%s', (name) => {
    const { bin, expected } = load(name);

    it('replays in memory to its expected PCR values', () => {
      expect(replayToJson(replayEvents(parseEventLog(bin).events))).toEqual(expected);
    });

    it('replays streamed from the file to its expected PCR values', async () => {
      expect(replayToJson(await replayEventLog(`${dir}${name}.bin`))).toEqual(expected);
    });

    it('streams the same events, cut into 7-byte chunks, as it parses in memory', async () => {
      const chunks = function* () {
        for (let i = 0; i < bin.length; i += 7) yield bin.subarray(i, i + 7);
      };
      const streamed = [];
      for await (const e of readEventLog(chunks())) streamed.push(e);
      expect(streamed).toEqual(parseEventLog(bin).events);
    });

    it('serializes back to the same bytes', () => {
      expect(Buffer.from(serializeEventLog(parseEventLog(bin).events)).equals(Buffer.from(bin))).toBe(true);
    });

    it('never extends EV_NO_ACTION: dropping those events changes nothing', () => {
      const log = parseEventLog(bin);
      const withoutNoAction = log.events.filter((e) => e.eventType !== 0x3 || e.data.subarray(0, 15).toString() === 'StartupLocality');
      expect(replayToJson(replayEvents(withoutNoAction)).pcrs).toEqual(replayToJson(replayEvents(log.events)).pcrs);
    });
  });

  it('parses the short no-action log as a SHA1 log that extends nothing', () => {
    const log = parseEventLog(load('go-attestation-short-no-action').bin);
    expect(log.format).toBe('sha1');
    expect(log.events).toHaveLength(1);
    expect(log.events[0]!.decoded).toEqual({ kind: 'startup-locality', locality: 3 });
    expect(replayToJson(replayEvents(log.events)).pcrs).toEqual({});
  });

  it('replays the arch-linux log with the digest even where the data does not hash to it', () => {
    const log = parseEventLog(load('tpm2-tools-arch-linux').bin);
    const differing = log.events.filter(
      (e) =>
        e.eventType !== 0x3 &&
        e.digests.some((d) => d.bank === 'sha256' && !createHash('sha256').update(e.data).digest().equals(Buffer.from(d.digest))),
    );
    expect(differing.length).toBeGreaterThan(0);
    // Such events are marked so a policy cannot read their data...
    for (const e of differing) expect(e.verification).not.toBe('verified');
    // ...and the replay, which uses digests only, still matches (checked above for every fixture).
  });
});
