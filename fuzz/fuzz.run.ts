/**
 * The long fuzzing run, started by `npm run fuzz -- <target> [--seconds N]`
 * (fuzz/run.mjs) through vitest, so that targets import the TypeScript
 * sources exactly as the test suite does. Not part of `npm test`.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fuzz } from './engine.js';
import { fuzzTarget } from './targets.js';

const name = process.env['VIGIL_FUZZ_TARGET'] ?? '';
const seconds = Number(process.env['VIGIL_FUZZ_SECONDS'] ?? '60');

it(`fuzz ${name} for ${seconds} s`, async () => {
  const target = fuzzTarget(name);
  if (target === undefined) throw new Error(`no fuzz target ${JSON.stringify(name)} (npm run fuzz -- --list)`);
  const started = Date.now();
  const report = await fuzz(target, {
    seconds,
    corpusDir: join(import.meta.dirname, 'corpus', name),
    findingsDir: join(import.meta.dirname, 'findings'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const elapsed = (Date.now() - started) / 1000;
  process.stderr.write(
    `${name}: ${report.executions} executions in ${elapsed.toFixed(0)} s (${Math.round(report.executions / elapsed)}/s), corpus ${report.corpus}, ${report.blocks} blocks covered, ${report.findings.length} findings\n`,
  );
  expect(report.findings).toEqual([]);
});
