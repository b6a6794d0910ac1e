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
import { verifyQuoteBenchmark } from './verify-quote.js';

export interface BenchOptions {
  /** Tiny sizes, for a smoke test: the figures mean nothing, the code paths all run. */
  readonly quick: boolean;
}

export interface Benchmark {
  readonly description: string;
  run(options: BenchOptions): Promise<Record<string, unknown>>;
}

export const benchmarks: Readonly<Record<string, Benchmark>> = {
  hash: hashBenchmark,
  'replay-memory': replayMemoryBenchmark,
  'verify-quote': verifyQuoteBenchmark,
  revocation: revocationBenchmark,
  agent: agentFootprintBenchmark,
  tamper: tamperBenchmark,
};
