/**
 * The benchmarks `npm run bench -- <name>...` can run. Each lives in its own
 * file, prints its figures as it goes and returns the result object that the
 * runner stores in bench/results/<name>.json. Add new ones here.
 */
import { agentFootprintBenchmark } from './agent-footprint.js';
import { hashBenchmark } from './hash.js';
import { replayMemoryBenchmark } from './replay-memory.js';
import { tamperBenchmark } from './tamper.js';
import { revocationBenchmark } from './revocation.js';
import { replicasBenchmark } from './replicas.js';
import { verifyQuoteBenchmark } from './verify-quote.js';
import { verifyBenchmark } from './verify.js';
import { enrollBenchmark } from './enroll.js';
import { fleetBenchmark } from './fleet-scale.js';
import { floorBenchmark } from './floor.js';
import { pruneBenchmark } from './prune.js';
import { storeWritesBenchmark } from './store-writes.js';
import { wakeBenchmark } from './wake.js';

export interface BenchOptions {
  /** Tiny sizes, for a smoke test: the figures mean nothing, the code paths all run. */
  readonly quick: boolean;
  /** `--name value` options given on the command line (only those the benchmark declares in `options`). */
  readonly args: ReadonlyMap<string, string>;
}

export interface Benchmark {
  readonly description: string;
  /** Options it takes (`--devices 1000`): name → help text. */
  readonly options?: Readonly<Record<string, string>>;
  run(options: BenchOptions): Promise<Record<string, unknown>>;
}

/** A numeric `--name` option, or `fallback`; throws a RangeError that names the option when it is not a positive number. */
export function numberArg(options: BenchOptions, name: string, fallback: number): number {
  const raw = options.args.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`--${name} must be a non-negative number, got ${raw}`);
  return value;
}

export const benchmarks: Readonly<Record<string, Benchmark>> = {
  verify: verifyBenchmark,
  fleet: fleetBenchmark,
  enroll: enrollBenchmark,
  hash: hashBenchmark,
  'replay-memory': replayMemoryBenchmark,
  'verify-quote': verifyQuoteBenchmark,
  revocation: revocationBenchmark,
  agent: agentFootprintBenchmark,
  tamper: tamperBenchmark,
  replicas: replicasBenchmark,
  floor: floorBenchmark,
  prune: pruneBenchmark,
  store: storeWritesBenchmark,
  wake: wakeBenchmark,
};
