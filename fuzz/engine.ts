/**
 * A coverage-guided fuzzing loop in plain Node.js, for `npm run fuzz`.
 *
 * Why not Jazzer.js (the usual choice): @jazzer.js/fuzzer 4.0.0 ships its
 * libFuzzer addon prebuilt only for glibc 2.38 and newer (this platform,
 * Debian 12, has 2.36: dlopen fails with "GLIBC_2.38 not found"), and its
 * 2.x releases download their binary from GitHub at install time or build
 * it with cmake-js, which downloads Node headers and compiler-rt: neither
 * is reachable from this project's machines (only the npm registry and
 * Debian packages are). So this is the same idea, without native parts:
 *
 * - coverage from V8 itself: the inspector's precise block coverage
 *   (`Profiler.startPreciseCoverage` with call counts), read after every
 *   execution (`takePreciseCoverage` also resets the counters), limited to
 *   the project's own files;
 * - a corpus that starts from the target's seeds (and `fuzz/corpus/<target>/`
 *   if present) and keeps every input that reached a block never reached
 *   before;
 * - inputs made by stacking 1-4 byte-level mutations (fuzz/mutate.ts:
 *   bit flips, interesting sizes, truncation, insertion, deletion,
 *   duplication, splicing) on a corpus entry.
 *
 * A finding (any exception other than the target's typed error) is written
 * to `fuzz/findings/<target>-<sha256>.bin` and ends the run with a failure.
 * Speed is a few hundred to a few thousand executions per second depending
 * on the target (the coverage read dominates for small inputs).
 */
import { createHash, randomInt } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { mutate } from './mutate.js';
import { FuzzFinding, type FuzzTarget } from './targets.js';

export interface FuzzOptions {
  readonly seconds: number;
  /** Where new corpus entries are written (and read from at start). */
  readonly corpusDir: string;
  readonly findingsDir: string;
  readonly log: (line: string) => void;
}

export interface FuzzReport {
  readonly executions: number;
  readonly corpus: number;
  readonly blocks: number;
  readonly findings: readonly string[];
}

interface Coverage {
  readonly result: Array<{ url: string; functions: Array<{ ranges: Array<{ startOffset: number; endOffset: number; count: number }> }> }>;
}

/** Files whose blocks count: the project's sources, not node_modules or node's own. */
function ours(url: string): boolean {
  return url.includes('/work/') || url.includes('/packages/') || url.includes('/server/src/') ? !url.includes('node_modules') && !url.includes('/fuzz/') : false;
}

export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const seen = new Set<string>();
  const newBlocks = async (): Promise<number> => {
    const cov = (await session.post('Profiler.takePreciseCoverage')) as unknown as Coverage;
    let added = 0;
    for (const script of cov.result) {
      if (!ours(script.url)) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.url}:${r.startOffset}:${r.endOffset}`;
          if (!seen.has(key)) {
            seen.add(key);
            added++;
          }
        }
      }
    }
    return added;
  };

  mkdirSync(options.corpusDir, { recursive: true });
  const corpus: Uint8Array[] = [...target.seeds()];
  for (const f of readdirSync(options.corpusDir)) corpus.push(new Uint8Array(readFileSync(join(options.corpusDir, f))));
  const findings: string[] = [];
  let executions = 0;

  const execute = async (input: Uint8Array): Promise<boolean> => {
    executions++;
    try {
      await target.run(input);
    } catch (err) {
      const name = `${target.name}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
      mkdirSync(options.findingsDir, { recursive: true });
      writeFileSync(join(options.findingsDir, name), input);
      findings.push(`${name}: ${err instanceof FuzzFinding ? err.message : String(err)}`);
      options.log(`FINDING ${join(options.findingsDir, name)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return false;
    }
    return true;
  };

  for (const input of corpus) if (!(await execute(input))) break;
  await newBlocks();
  const deadline = Date.now() + options.seconds * 1000;
  let lastReport = Date.now();
  while (findings.length === 0 && Date.now() < deadline) {
    let input = corpus[randomInt(corpus.length)]!;
    for (let k = 1 + randomInt(4); k > 0; k--) input = mutate(input, randomInt(0x1_0000_0000), corpus);
    if (input.length > 1 << 20) continue;
    if (!(await execute(input))) break;
    if ((await newBlocks()) > 0) {
      corpus.push(input);
      writeFileSync(join(options.corpusDir, createHash('sha256').update(input).digest('hex').slice(0, 16)), input);
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      options.log(`${target.name}: ${executions} executions, corpus ${corpus.length}, ${seen.size} blocks covered`);
    }
  }
  await session.post('Profiler.stopPreciseCoverage');
  session.disconnect();
  return { executions, corpus: corpus.length, blocks: seen.size, findings };
}
