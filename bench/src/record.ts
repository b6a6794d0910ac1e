/**
 * The file every benchmark run leaves behind, `bench/results/<name>.json`
 * (`<name>.quick.json` with --quick): described once here, so the runner
 * writes exactly this shape and the smoke test (test/bench-smoke.test.ts)
 * checks the files against the same definition.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

const LoadAverage = Type.Array(Type.Number({ minimum: 0 }), { minItems: 3, maxItems: 3, description: '1, 5 and 15 minute load averages' });

export const MachineFactsSchema = Type.Object(
  {
    cpuModel: Type.String({ minLength: 1 }),
    cores: Type.Integer({ minimum: 1 }),
    memoryBytes: Type.Integer({ minimum: 1 }),
    node: Type.String({ pattern: '^v\\d+\\.' }),
    platform: Type.String({ minLength: 1 }),
    kernel: Type.String({ minLength: 1 }),
    date: Type.String({ format: 'date-time' }),
    loadAverage: LoadAverage,
    /** node's own flags and libuv's thread pool size (UV_THREADPOOL_SIZE) in the measuring process, which runs the server; absent in older records. */
    nodeFlags: Type.Optional(Type.Array(Type.String())),
    threadPoolSize: Type.Optional(Type.String()),
    /** Nice value of the simulated fleet's load-generator processes (VIGIL_BENCH_LOAD_NICE, default 10); absent in records from before it was set: they ran at 0, the server's. */
    loadNice: Type.Optional(Type.Integer({ minimum: 0, maximum: 19 })),
  },
  { additionalProperties: false, description: 'What a result was measured on: other work on the machine skews figures.' },
);
export type MachineFacts = Static<typeof MachineFactsSchema>;

export const BenchRecordSchema = Type.Object(
  {
    benchmark: Type.String({ minLength: 1 }),
    description: Type.String({ minLength: 1 }),
    quick: Type.Boolean(),
    /** The `--name value` options the benchmark was given. */
    options: Type.Record(Type.String(), Type.String()),
    machine: MachineFactsSchema,
    loadAverageAfter: LoadAverage,
    /** The benchmark's own figures (each benchmark's file documents them; docs/benchmarks.md reads them). */
    result: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 }),
  },
  { additionalProperties: false },
);
export type BenchRecord = Static<typeof BenchRecordSchema>;

let compiled: { check(value: unknown): boolean; errors(value: unknown): string[] } | undefined;

function compile(): NonNullable<typeof compiled> {
  const validator = Compile(BenchRecordSchema);
  return {
    check: (value) => validator.Check(value),
    errors: (value) => [...validator.Errors(value)].slice(0, 5).map((e) => `${e.instancePath || '/'}: ${e.message}`),
  };
}

/** `value` as a record, or the first few places where it departs from the schema (for a smoke test's message). */
export function checkBenchRecord(value: unknown): { ok: true; record: BenchRecord } | { ok: false; errors: string[] } {
  const v = (compiled ??= compile());
  return v.check(value) ? { ok: true, record: value as BenchRecord } : { ok: false, errors: v.errors(value) };
}
