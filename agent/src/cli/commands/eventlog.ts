import type { Command } from 'commander';
import {
  EventLogParseError,
  readEventLog,
  replayEventLog,
  replayToJson,
  type EventData,
  type EventLogReplay,
  type TcgEvent,
} from '@vigil/evidence';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `vigil-agent eventlog replay|show <file>`: read a TCG PC Client event log
 * (e.g. /sys/kernel/security/tpm0/binary_bios_measurements), either replaying
 * it to PCR values or listing its decoded events. Both stream the file.
 */
export function register(program: Command): void {
  const eventlog = program.command('eventlog').description('read a TCG PC Client event log (SHA1 or crypto-agile)');

  eventlog
    .command('replay')
    .description('replay every bank of the log to PCR values')
    .argument('<file>', 'binary event log, e.g. /sys/kernel/security/tpm0/binary_bios_measurements')
    .option('--json', 'print {"format":...,"pcrs":{"<bank>":{"<index>":"<hex>"}}}')
    .action(async (file: string, options: { json?: boolean }) => {
      const replay = await readingLog(file, () => replayEventLog(file));
      for (const bank of replay.unsupportedBanks) process.stderr.write(`vigil-agent: bank ${bank} left out: this Node build cannot compute its hash\n`);
      process.stdout.write(options.json === true ? JSON.stringify(replayToJson(replay)) + '\n' : replayTable(replay));
    });

  eventlog
    .command('show')
    .description('list the events with their decoded data and whether the data is bound to the digest')
    .argument('<file>', 'binary event log')
    .option('--json', 'print a JSON array of events (bytes as hex, 64-bit values as decimal strings)')
    .action(async (file: string, options: { json?: boolean }) => {
      // `show ... | head` closes the pipe early: that is the reader's choice, not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(ExitCode.Ok);
      });
      await readingLog(file, async () => {
        let first = true;
        if (options.json === true) process.stdout.write('[');
        for await (const e of readEventLog(file)) {
          if (options.json === true) {
            process.stdout.write((first ? '\n' : ',\n') + JSON.stringify(e, jsonReplacer));
          } else {
            process.stdout.write(eventText(e));
          }
          first = false;
        }
        if (options.json === true) process.stdout.write(first ? ']\n' : '\n]\n');
      });
    });
}

/** Runs `fn`, turning a missing file or a malformed log into the CLI's exit codes. */
async function readingLog<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EventLogParseError) throw new CliError(`${file}: ${err.message}`, ExitCode.Io, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new CliError(`${file}: ${(err as Error).message}`, ExitCode.Io, { cause: err });
    throw err;
  }
}

function replayTable(replay: EventLogReplay): string {
  let out = `format: ${replay.format}\n`;
  if (replay.pcrs.size === 0) return `${out}no PCR was extended\n`;
  out += 'bank      PCR  value\n';
  for (const [bank, values] of replay.pcrs) {
    for (const [index, value] of values) out += `${bank.padEnd(8)} ${String(index).padStart(4)}  ${Buffer.from(value).toString('hex')}\n`;
  }
  return out;
}

function eventText(e: TcgEvent): string {
  let out = `#${e.index} PCR ${e.pcrIndex} ${e.typeName} [${e.verification}] ${summary(e.decoded)}\n`;
  for (const d of e.digests) out += `    ${d.bank.padEnd(8)} ${Buffer.from(d.digest).toString('hex')}\n`;
  return out;
}

function summary(d: EventData): string {
  switch (d.kind) {
    case 'spec-id':
      return `Spec ID Event03: banks ${d.specId.algorithms.map((a) => a.bank).join(', ')}`;
    case 'startup-locality':
      return `StartupLocality ${d.locality}`;
    case 'no-action':
      return d.signature;
    case 'separator':
      return d.value === 0 ? 'separator' : `separator (error 0x${d.value.toString(16)})`;
    case 'text':
      return JSON.stringify(d.text);
    case 'uefi-variable': {
      const v = d.variable;
      const value = v.value;
      const detail =
        value.kind === 'boolean'
          ? String(value.value)
          : value.kind === 'signature-lists'
            ? `${value.lists.reduce((n, l) => n + l.signatures.length, 0)} signatures`
            : value.kind === 'signature'
              ? (value.signature.certificate?.subject.replaceAll('\n', ', ') ?? `${value.signature.type} signature`)
              : value.kind === 'boot-order'
                ? value.order.map((n) => `Boot${n.toString(16).toUpperCase().padStart(4, '0')}`).join(',')
                : value.kind === 'load-option'
                  ? `${JSON.stringify(value.option.description)} ${value.option.devicePath.text}`
                  : value.kind === 'malformed'
                    ? `malformed: ${value.reason}`
                    : `${v.data.length} bytes`;
      return `${v.name} (${v.vendorGuid}) = ${detail}`;
    }
    case 'image-load':
      return `image ${d.devicePath.text || '(no device path)'} (${d.imageLengthInMemory} bytes)`;
    case 'firmware-blob':
      return `${d.description ?? 'firmware blob'} at 0x${d.base.toString(16)}, ${d.length} bytes`;
    case 'handoff-tables':
      return `${d.description ?? 'handoff tables'}: ${d.tables.map((t) => t.name ?? t.vendorGuid).join(', ')}`;
    case 'gpt':
      return `GPT ${d.diskGuid}: ${d.partitions.length} partitions`;
    case 'tagged':
      return `tag 0x${d.id.toString(16)}, ${d.data.length} bytes`;
    case 'malformed':
      return `malformed: ${d.reason}`;
    case 'bytes':
      return '';
  }
}

/** Bytes as hex, 64-bit values as decimal strings: event data has both. */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  if (typeof value === 'bigint') return value.toString();
  return value;
}
