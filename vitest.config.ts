import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources of the workspace packages: every
// package exports a "vigil:source" condition that points at src/index.ts.
// CLIs that tests spawn as child processes run from the built dist/ (npm test
// runs `tsc -b` first).
export default defineConfig({
  resolve: { conditions: ['vigil:source'] },
  ssr: { resolve: { conditions: ['vigil:source'], externalConditions: ['vigil:source'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'server/test/**/*.test.ts',
      'agent/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**', 'bench/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
