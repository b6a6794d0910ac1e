#!/usr/bin/env node
// After a build: makes the workspaces' commands runnable from a clone as
// `npx vigil-server …` and `npx vigil-agent …`. `npm ci` links a package's
// bin only if its file exists, and in a fresh clone dist/ is built after
// it; tsc writes files without the executable bit. So, for each workspace
// bin: chmod 0755 the built file and link node_modules/.bin/<name> to it,
// as npm would have. Standard library only; idempotent.
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let problems = 0;
for (const ws of workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'));
  for (const [name, file] of Object.entries(pkg.bin ?? {})) {
    const target = join(root, ws, file);
    if (!existsSync(target)) {
      process.stderr.write(`link-bins: ${name}: ${relative(root, target)} is not built (run tsc -b first)\n`);
      problems++;
      continue;
    }
    chmodSync(target, 0o755);
    mkdirSync(binDir, { recursive: true });
    const link = join(binDir, name);
    // Kept when it already leads to the built file (npm's own link goes through node_modules/@vigil/<pkg>).
    if (existsSync(link) && realpathSync(link) === realpathSync(target)) continue;
    try {
      unlinkSync(link); // dangling, or leading elsewhere
    } catch {
      // none yet
    }
    symlinkSync(relative(binDir, target), link);
  }
}
process.exit(problems > 0 ? 1 : 0);
