/**
 * The benchmark runner's work, once main.ts has made sure libuv's thread
 * pool has the size vigil-server gives it: parses the arguments, runs the
 * named benchmarks and writes their records.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNiceFromEnvironment } from './fleet/niceness.js';
import { machineFacts } from './machine.js';
import type { BenchRecord } from './record.js';
import { benchmarks } from './registry.js';

function usage(problem: string | null): never {
  const lines = Object.entries(benchmarks).map(([name, b]) => {
    const opts = Object.entries(b.options ?? {}).map(([o, help]) => `\n      --${o}: ${help}`);
    return `  ${name}: ${b.description}${opts.join('')}`;
  });
  const environment = [
    'environment:',
    '  VIGIL_BENCH_RESULTS: directory for the results (default bench/results/)',
    '  VIGIL_BENCH_PROFILE: directory for CPU profiles of the measured windows (default: no profiles)',
    '  VIGIL_BENCH_LOAD_NICE: nice value of the simulated fleet\'s load generators, 0-19 (default 10: they yield the cores to the server they measure)',
    '  VIGIL_BENCH_WORKER_NODE_OPTIONS: node flags for the load generators only',
  ];
  const out = problem === null ? process.stdout : process.stderr;
  out.write(`${problem === null ? '' : `bench: ${problem}\n`}usage: node bench/dist/main.js [--quick] [--option value...] [name...]\n${lines.join('\n')}\n${environment.join('\n')}\n`);
  process.exit(problem === null ? 0 : 2);
}

const argv = process.argv.slice(2);
// The smoke test asks which benchmarks exist, so a new one cannot go untested.
if (argv[0] === '--list') {
  process.stdout.write(JSON.stringify(Object.keys(benchmarks)) + '\n');
  process.exit(0);
}
if (argv.includes('--help') || argv.includes('-h')) usage(null);
let quick = false;
const names: string[] = [];
const args = new Map<string, string>();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '--quick') quick = true;
  else if (a.startsWith('--')) {
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) usage(`option --${name} needs a value`);
    args.set(name, value);
  } else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else names.push(a);
}
const selected = names.length > 0 ? names : Object.keys(benchmarks);
const unknown = selected.filter((n) => !(n in benchmarks));
if (unknown.length > 0) usage(`unknown benchmark ${unknown.join(' ')}`);
const accepted = new Set(selected.flatMap((n) => Object.keys(benchmarks[n]!.options ?? {})));
const refused = [...args.keys()].filter((k) => !accepted.has(k));
if (refused.length > 0) usage(`unknown option ${refused.map((k) => `--${k}`).join(' ')} for ${selected.join(', ')}`);

// Checked before any benchmark starts: a bad value would otherwise surface minutes in, when the fleet forks.
try {
  loadNiceFromEnvironment();
} catch (err) {
  usage((err as Error).message);
}

const resultsDir = process.env['VIGIL_BENCH_RESULTS'] !== undefined ? join(process.env['VIGIL_BENCH_RESULTS'], '/') : fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });

for (const name of selected) {
  const benchmark = benchmarks[name]!;
  process.stdout.write(`\n== ${name}${quick ? ' (quick)' : ''}: ${benchmark.description}\n`);
  const machine = machineFacts();
  const own = new Map([...args].filter(([k]) => k in (benchmark.options ?? {})));
  const result = await benchmark.run({ quick, args: own });
  const file = `${resultsDir}${name}${quick ? '.quick' : ''}.json`;
  const record: BenchRecord = { benchmark: name, description: benchmark.description, quick, options: Object.fromEntries(own), machine, loadAverageAfter: loadavg(), result };
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  process.stdout.write(`result written to ${file}\n`);
}
