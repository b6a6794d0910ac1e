/**
 * Child process of the `replay-memory` benchmark: replays one file in one
 * mode and prints its peak RSS above the RSS it had before reading.
 *   node replay-memory-child.js <eventlog-stream|eventlog-whole|ima-stream|ima-whole> <file>
 */
import { readFileSync } from 'node:fs';
import {
  imaPcrsToJson,
  modelMeasurement,
  serializeEventLog,
  specIdEventData,
  parseEventLog,
  parseImaLog,
  replayEventLog,
  replayEvents,
  replayImaEntries,
  replayImaLog,
  replayToJson,
} from '@vigil/evidence';

const [mode, file] = process.argv.slice(2);
if (!mode || !file) throw new Error('usage: replay-memory-child <mode> <file>');

// Warm up first (crypto, the JIT, the parsers' code) so the baseline holds everything but the data.
const sample = modelMeasurement('/warm/up', '0'.repeat(64), 10).line;
for (let i = 0; i < 100; i++) await replayImaLog(Buffer.from(`${sample}\n`));
const header = { encoding: 'pcr-event' as const, pcrIndex: 0, eventType: 3, digests: [{ algorithmId: 4, bank: 'sha1', digest: new Uint8Array(20) }], data: specIdEventData([4]) };
for (let i = 0; i < 100; i++) await replayEventLog(serializeEventLog([header, { ...header, encoding: 'pcr-event2', eventType: 4 }]));
const baselineRssBytes = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
let items = 0;
let pcrs: unknown;
switch (mode) {
  case 'eventlog-stream': {
    // The replay keeps no events, so the parent, which wrote the log, supplies the count.
    const r = await replayEventLog(file);
    pcrs = replayToJson(r).pcrs;
    break;
  }
  case 'eventlog-whole': {
    const log = parseEventLog(readFileSync(file));
    items = log.events.length;
    pcrs = replayToJson(replayEvents(log.events)).pcrs;
    break;
  }
  case 'ima-stream': {
    const r = await replayImaLog(file);
    items = r.entries;
    pcrs = imaPcrsToJson(r);
    break;
  }
  case 'ima-whole': {
    const entries = parseImaLog(readFileSync(file));
    items = entries.length;
    pcrs = imaPcrsToJson(replayImaEntries(entries));
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({ mode, baselineRssBytes, peakRssBytes: process.resourceUsage().maxRSS * 1024, seconds, items, pcrs }));
