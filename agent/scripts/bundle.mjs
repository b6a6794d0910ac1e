#!/usr/bin/env node
// The packaged agent: `vigil-agent` bundled by esbuild into dist/bundle/ from
// the tsc output (run `npx tsc -b agent` first). Why: loading the agent as
// ~900 ES modules (TypeBox alone is 683) costs more heap than their code —
// each module keeps its record, namespace, scope infos and full source text
// for the life of the process. One file per lazily loaded part, unused
// exports dropped and whitespace removed, takes the idle daemon from ~63 to
// ~56 MiB RSS (docs/benchmarks.md, "Agent footprint"). Identifiers are kept,
// so stack traces still name functions; source maps sit beside the chunks
// (node --enable-source-maps), licence comments in *.LEGAL.txt.
//
// @vigil/evidence stays a normal import: its model hashing runs in worker
// threads that load their own file from that package's dist/.
//
// usage: node agent/scripts/bundle.mjs [--outdir DIR]   (DIR two levels below agent/, default dist/bundle)
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? resolve(process.argv[at + 1]) : join(agentDir, 'dist', 'bundle');

await build({
  entryPoints: { 'vigil-agent': join(agentDir, 'dist', 'cli', 'main.js') },
  outdir,
  bundle: true,
  // Dynamic imports (a command's implementation, enrollment) stay separate files, loaded only when used.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@vigil/evidence'],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'external',
  sourcemap: true,
  // CommonJS dependencies (mqtt, pino, commander, yaml) call require() for node: built-ins.
  banner: { js: "import { createRequire as __vigilCreateRequire } from 'node:module'; const require = __vigilCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
process.stdout.write(`${join(outdir, 'vigil-agent.js')}\n`);
