/**
 * Benchmark `replay-memory`: replaying a 10 MB event log and a 1-million-line
 * IMA list streams them. Each replay runs in a fresh child process that
 * reports its peak RSS (getrusage maxrss) above its RSS before reading; the
 * streaming API is compared with reading the whole file first and parsing it
 * in memory, which holds the raw text (and every entry) at once.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelMeasurement, serializeEventLog, specIdEventData, type EventInput } from '@vigil/evidence';
import type { Benchmark, BenchOptions } from './registry.js';

const CHILD = fileURLToPath(new URL('./replay-memory-child.js', import.meta.url));
const MiB = 1024 * 1024;

export interface ChildReport {
  readonly mode: string;
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  readonly seconds: number;
  readonly items: number;
  readonly pcrs: unknown;
}

function* eventLogEvents(count: number): Generator<EventInput> {
  yield {
    encoding: 'pcr-event',
    pcrIndex: 0,
    eventType: 3,
    digests: [{ algorithmId: 0x0004, bank: 'sha1', digest: new Uint8Array(20) }],
    data: specIdEventData([0x0004, 0x000b]),
  };
  for (let i = 0; i < count; i++) {
    const data = Buffer.from(`measured event ${i} `.padEnd(100, '.'));
    yield {
      encoding: 'pcr-event2',
      pcrIndex: i % 10,
      eventType: 0x80000007,
      digests: [
        { algorithmId: 0x0004, bank: 'sha1', digest: new Uint8Array(createHash('sha1').update(data).digest()) },
        { algorithmId: 0x000b, bank: 'sha256', digest: new Uint8Array(createHash('sha256').update(data).digest()) },
      ],
      data,
    };
  }
}

function writeImaList(path: string, lines: number): void {
  const fd = openSync(path, 'w');
  try {
    let batch = '';
    for (let i = 0; i < lines; i++) {
      const digest = createHash('sha256').update(String(i)).digest('hex');
      batch += `${modelMeasurement(`/usr/lib/x86_64-linux-gnu/library-${i}.so.1`, digest, 10).line}\n`;
      if (i % 10_000 === 9_999) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    writeSync(fd, batch);
  } finally {
    closeSync(fd);
  }
}

function child(mode: string, file: string): ChildReport {
  const r = spawnSync(process.execPath, [CHILD, mode, file], { encoding: 'utf8', maxBuffer: 16 * MiB });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

function show(r: ChildReport, fileBytes: number): void {
  const growth = (r.peakRssBytes - r.baselineRssBytes) / MiB;
  process.stdout.write(
    `  ${r.mode.padEnd(16)} peak RSS +${growth.toFixed(1).padStart(7)} MiB (file ${(fileBytes / MiB).toFixed(1)} MiB)  ` +
      `${r.seconds.toFixed(2).padStart(6)} s  ${Math.round(r.items / r.seconds).toLocaleString('en-US')} items/s\n`,
  );
}

async function runReplayMemory(options: BenchOptions): Promise<Record<string, unknown>> {
  const events = options.quick ? 1_000 : 60_000;
  const lines = options.quick ? 10_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-replay-'));
  try {
    const eventLog = join(dir, 'binary_bios_measurements');
    writeFileSync(eventLog, serializeEventLog(eventLogEvents(events)));
    const ima = join(dir, 'ascii_runtime_measurements');
    writeImaList(ima, lines);
    // A list a tenth as long: streaming memory must not grow with the list.
    const imaTenth = join(dir, 'ascii_runtime_measurements.tenth');
    writeImaList(imaTenth, lines / 10);
    const eventLogBytes = statSync(eventLog).size;
    const imaBytes = statSync(ima).size;

    process.stdout.write(`event log: ${events.toLocaleString('en-US')} events, ${(eventLogBytes / MiB).toFixed(1)} MiB\n`);
    const eventStream = { ...child('eventlog-stream', eventLog), items: events + 1 };
    show(eventStream, eventLogBytes);
    const eventWhole = child('eventlog-whole', eventLog);
    show(eventWhole, eventLogBytes);
    process.stdout.write(`IMA list: ${lines.toLocaleString('en-US')} lines, ${(imaBytes / MiB).toFixed(1)} MiB (and a tenth of it)\n`);
    const imaTenthStream = child('ima-stream', imaTenth);
    show(imaTenthStream, statSync(imaTenth).size);
    const imaStream = child('ima-stream', ima);
    show(imaStream, imaBytes);
    const imaWhole = child('ima-whole', ima);
    show(imaWhole, imaBytes);
    if (JSON.stringify(eventStream.pcrs) !== JSON.stringify(eventWhole.pcrs) || JSON.stringify(imaStream.pcrs) !== JSON.stringify(imaWhole.pcrs)) {
      throw new Error('streamed and in-memory replays disagree');
    }
    return {
      eventLog: { events, bytes: eventLogBytes, stream: eventStream, whole: eventWhole },
      ima: { lines, bytes: imaBytes, stream: imaStream, whole: imaWhole, tenthStream: imaTenthStream },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const replayMemoryBenchmark: Benchmark = {
  description: 'peak memory and speed of replaying a 10 MB event log and a 1M-line IMA list, streamed vs read whole',
  run: runReplayMemory,
};
