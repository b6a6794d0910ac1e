import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run fuzz` only (fuzz/run.mjs): one long test, sources resolved like the suite's.
const seconds = Number(process.env['VIGIL_FUZZ_SECONDS'] ?? '60');
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: ['vigil:source'] },
  ssr: { resolve: { conditions: ['vigil:source'], externalConditions: ['vigil:source'] } },
  test: {
    include: ['fuzz/fuzz.run.ts'],
    testTimeout: (seconds + 300) * 1000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
