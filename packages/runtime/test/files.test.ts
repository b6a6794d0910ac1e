import { chmod, mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/atomic-write.js';
import { readTextIfExists } from '../src/read-text.js';

const dir = await mkdtemp(join(tmpdir(), 'vigil-runtime-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function withUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await body();
  } finally {
    process.umask(old);
  }
}

describe('writeFileAtomic', () => {
  it('writes exactly the mode asked for, whatever the umask', async () => {
    const cases: [umask: number, mode: number][] = [
      [0o000, 0o600],
      [0o022, 0o644],
      [0o077, 0o644],
      [0o777, 0o600],
      [0o000, 0o640],
    ];
    for (const [umask, mode] of cases) {
      const path = join(dir, `mode-${umask.toString(8)}-${mode.toString(8)}`);
      await withUmask(umask, () => writeFileAtomic(path, 'x', mode));
      expect(((await stat(path)).mode & 0o777).toString(8), `umask ${umask.toString(8)}`).toBe(mode.toString(8));
    }
  });

  it('round-trips any bytes and any text, replacing the file, and leaves no temp file', async () => {
    const sub = join(dir, 'roundtrip');
    await mkdir(sub);
    const path = join(sub, 'data');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.string({ unit: 'grapheme', maxLength: 512 })), async (data) => {
        await writeFileAtomic(path, data, 0o600);
        const back = await readFile(path);
        expect(back.equals(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data))).toBe(true);
        expect(await readdir(sub)).toEqual(['data']);
      }),
      { numRuns: 60 },
    );
  });

  it('never shows a reader a half-written file while writers replace it', async () => {
    const path = join(dir, 'contended');
    const versions = Array.from({ length: 16 }, (_, i) => Buffer.alloc(256 * 1024, 0x41 + i));
    await writeFile(path, versions[0]!);
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        const got = await readFile(path);
        const i = versions.findIndex((v) => v.equals(got));
        expect(i, `a read of ${got.length} bytes matched no complete version`).toBeGreaterThanOrEqual(0);
        seen.add(i);
      }
    })();
    await Promise.all(versions.map((v) => writeFileAtomic(path, v, 0o644)));
    writing = false;
    await reader;
    expect(seen.size).toBeGreaterThan(0);
  });

  it('fails cleanly, removing its temp file, when the rename or the folder fails', async () => {
    const sub = join(dir, 'failing');
    await mkdir(join(sub, 'occupied'), { recursive: true });
    await writeFile(join(sub, 'occupied', 'inside'), 'x');
    // rename(2) cannot replace a non-empty directory.
    await expect(writeFileAtomic(join(sub, 'occupied'), 'data', 0o600)).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(await readdir(sub)).toEqual(['occupied']);
    await expect(writeFileAtomic(join(sub, 'missing', 'file'), 'data', 0o600)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(sub)).toEqual(['occupied']);
  });
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
