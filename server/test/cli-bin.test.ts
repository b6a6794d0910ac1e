/**
 * `npx vigil-server` in a clone: npm ci links a workspace's bin only if its
 * file exists, and dist/ is built after it, so scripts/link-bins.mjs makes
 * the built CLIs executable and links them after every build (npm test,
 * demo, bench, build). This runs what the README tells an operator to run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const version = (workspace: string): string => (JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as { version: string }).version;

describe('the CLIs as npx runs them from a clone', () => {
  for (const [name, workspace] of [
    ['vigil-server', 'server'],
    ['vigil-agent', 'agent'],
  ] as const) {
    it(`node_modules/.bin/${name} --version runs the built CLI`, () => {
      const run = spawnSync(join(ROOT, 'node_modules', '.bin', name), ['--version'], { encoding: 'utf8' });
      expect(run.error).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(version(workspace));
    });
  }
});
