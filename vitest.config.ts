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
    // Servers that tests start (in-process or as the built CLI, which inherits
    // this) put their admin API on a free port, not the default 8443: test
    // files run in parallel. Tests that need it read DIR/run/admin.json.
    env: { VIGIL_ADMIN_PORT: '0' },
    maxWorkers: 2,
    reporters: ['default'],
  },
});
