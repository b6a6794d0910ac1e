import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextIfExists } from '../src/read-text.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-runtime-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readTextIfExists', () => {
  it('reads the text of a file that exists, and undefined for one that does not', async () => {
    const text = `héllo ${process.pid}\n`;
    await writeFile(join(dir, 'there'), text);
    expect(await readTextIfExists(join(dir, 'there'))).toBe(text);
    expect(await readTextIfExists(join(dir, 'absent'))).toBeUndefined();
    expect(await readTextIfExists(join(dir, 'absent-folder', 'file'))).toBeUndefined();
  });

  it('rethrows every other failure instead of taking it for a missing file', async () => {
    await expect(readTextIfExists(dir)).rejects.toMatchObject({ code: 'EISDIR' });
    await writeFile(join(dir, 'file'), 'x');
    await expect(readTextIfExists(join(dir, 'file', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    if (process.getuid?.() !== 0) {
      await chmod(join(dir, 'file'), 0o000);
      await expect(readTextIfExists(join(dir, 'file'))).rejects.toMatchObject({ code: 'EACCES' });
    }
  });
});
