import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as core from '../src/core.js';
import * as full from '../src/index.js';

const run = promisify(execFile);
const builtCore = fileURLToPath(new URL('../dist/core.js', import.meta.url));
const builtIndex = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A resolve hook that fails the import of any module from the schema engine. */
const noTypebox = `data:text/javascript,export async function resolve(s, c, next) { if (s === 'typebox' || s.startsWith('typebox/')) throw new Error('typebox was loaded'); return next(s, c); }`;

async function importWithoutTypebox(file: string): Promise<void> {
  await run(process.execPath, [
    '--input-type=module',
    '-e',
    `import { register } from 'node:module'; register(${JSON.stringify(noTypebox)}); await import(${JSON.stringify(file)});`,
  ]);
}

describe('@vigil/protocol/core', () => {
  it('loads without the schema engine (the built package)', async () => {
    await expect(importWithoutTypebox(builtCore)).resolves.toBeUndefined();
    // The hook does catch it: the full package needs TypeBox.
    await expect(importWithoutTypebox(builtIndex)).rejects.toThrow(/typebox was loaded/);
  });

  it('the package root re-exports every value of core, identical', () => {
    const fullExports = full as Record<string, unknown>;
    for (const [name, value] of Object.entries(core)) expect(fullExports[name], name).toBe(value);
  });
});
