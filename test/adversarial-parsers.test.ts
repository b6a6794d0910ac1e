/**
 * Issue 9, property-based fuzzing of every parser that reads attacker
 * bytes, on the same targets `npm run fuzz` runs for hours (fuzz/targets.ts):
 * arbitrary bytes and mutations of valid inputs (bit flips, truncation,
 * inserted and overwritten runs, size fields set to extremes) must end in
 * the parser's own typed error or a value — never another exception.
 *
 * Parsers that already have their own property tests are run here again
 * through the one target list, so a new parser is fuzzed in both places by
 * adding it there: tpm2-ts structures (packages/tpm2-ts/test/codec-fuzz),
 * the event log and IMA (packages/evidence/test/*-properties), the message
 * codecs (packages/protocol/test/codec). The verifier's log chunk reader and
 * the policy importers had none before.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS, FuzzFinding, type FuzzTarget } from '../fuzz/targets.js';
import { mutate } from '../fuzz/mutate.js';

/** Inputs: arbitrary bytes, or a seed under 1-4 random mutations. */
function inputs(target: FuzzTarget): fc.Arbitrary<Uint8Array> {
  const seeds = target.seeds();
  const mutated = fc
    .tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 4 }))
    .map(([i, rnds]) => rnds.reduce((bytes, r) => mutate(bytes, r, seeds), seeds[i]!));
  return fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) }, { weight: 3, arbitrary: mutated });
}

describe('every parser of attacker bytes ends in its typed error or a value', () => {
  it.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))('%s', async (_name, target) => {
    // Each seed is accepted as it is: the mutations start from real inputs.
    for (const seed of target.seeds()) await target.run(seed);
    const big = target.seeds().some((s) => s.length > 64 * 1024);
    await fc.assert(
      fc.asyncProperty(inputs(target), async (input) => {
        await target.run(input);
      }),
      { numRuns: big ? 60 : 300 },
    );
  });

  it('a finding is reported with its input, so the fuzzer can keep it', async () => {
    // The harness itself must be able to fail: a target whose parser throws the wrong error.
    const broken: FuzzTarget = {
      name: 'broken',
      description: 'throws a TypeError on a zero byte',
      seeds: () => [Uint8Array.of(1)],
      run: (input) => {
        if (input.includes(0)) throw new FuzzFinding('broken', input, new TypeError('boom'));
      },
    };
    const failure = await fc
      .assert(
        fc.asyncProperty(inputs(broken), async (input) => {
          await broken.run(input);
        }),
        { numRuns: 500 },
      )
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    expect(failure).toBeInstanceOf(Error);
    const finding = failure!.cause;
    expect(finding).toBeInstanceOf(FuzzFinding);
    expect((finding as FuzzFinding).input).toContain(0);
  });
});
