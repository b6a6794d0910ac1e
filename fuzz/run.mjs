#!/usr/bin/env node
// npm run fuzz -- <target> [--seconds N]   (npm run fuzz -- --list: the targets)
// Runs fuzz/fuzz.run.ts under vitest with fuzz/vitest.config.ts; see fuzz/README.md.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const names = [...readFileSync(join(here, 'targets.ts'), 'utf8').matchAll(/^ {4}name: '([a-z0-9-]+)'/gm)].map((m) => m[1]).filter((n) => n !== 'broken');
names.push(...[...readFileSync(join(here, 'targets.ts'), 'utf8').matchAll(/messageTarget\('([a-z-]+)'/g)].map((m) => `message-${m[1]}`));
if (args.length === 0 || args.includes('--list') || args.includes('--help')) {
  process.stdout.write(`usage: npm run fuzz -- <target> [--seconds N]\ntargets:\n${names.map((n) => `  ${n}`).join('\n')}\n`);
  process.exit(args.length === 0 ? 2 : 0);
}
const target = args[0];
const i = args.indexOf('--seconds');
const seconds = i >= 0 ? Number(args[i + 1]) : 60;
if (!names.includes(target) || !(seconds > 0)) {
  process.stderr.write(`unknown target or bad --seconds (npm run fuzz -- --list)\n`);
  process.exit(2);
}
const vitest = join(here, '..', 'node_modules', 'vitest', 'vitest.mjs');
const r = spawnSync(process.execPath, [vitest, 'run', '--config', join(here, 'vitest.config.ts')], {
  stdio: 'inherit',
  env: { ...process.env, VIGIL_FUZZ_TARGET: target, VIGIL_FUZZ_SECONDS: String(seconds) },
});
process.exit(r.status ?? 1);
