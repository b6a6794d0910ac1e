/**
 * Benchmark runner: `node bench/dist/main.js [--quick] [name...]` runs the
 * named benchmarks (all when none are named) and writes each result, with
 * the machine's facts, to bench/results/<name>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machineFacts } from './machine.js';
import { benchmarks } from './registry.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const unknownFlags = args.filter((a) => a.startsWith('-') && a !== '--quick');
const names = args.filter((a) => !a.startsWith('-'));
const selected = names.length > 0 ? names : Object.keys(benchmarks);
const unknown = selected.filter((n) => !(n in benchmarks));
if (unknownFlags.length > 0 || unknown.length > 0) {
  process.stderr.write(
    `bench: unknown ${unknownFlags.length > 0 ? `option ${unknownFlags.join(' ')}` : `benchmark ${unknown.join(' ')}`}\n` +
      `usage: node bench/dist/main.js [--quick] [name...]\navailable: ${Object.keys(benchmarks).join(', ')}\n`,
  );
  process.exit(2);
}

const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });

for (const name of selected) {
  const benchmark = benchmarks[name]!;
  process.stdout.write(`\n== ${name}${quick ? ' (quick)' : ''}: ${benchmark.description}\n`);
  const machine = machineFacts();
  const result = await benchmark.run({ quick });
  const file = `${resultsDir}${name}${quick ? '.quick' : ''}.json`;
  const record = { benchmark: name, description: benchmark.description, quick, machine, loadAverageAfter: loadavg(), result };
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  process.stdout.write(`result written to ${file}\n`);
}
