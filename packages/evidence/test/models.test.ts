/**
 * Model hashing against independent tools: every file digest must equal
 * `sha256sum`'s, and the manifest digest must equal the documented shell
 * pipeline's, on a real folder in a temp dir (nested folders, UTF-8 names,
 * an empty file, files spanning many reads).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelHashError } from '../src/models/errors.js';
import { hashModel } from '../src/models/hash-model.js';
import type { HashProgress } from '../src/models/hash-model.js';
import { modelManifest } from '../src/models/manifest.js';

let root: string;
let model: string;

const files: Record<string, Buffer> = {
  'config.json': Buffer.from('{"layers": 12}\n'),
  'weights/shard-00001.safetensors': randomBytes(3 * 1024 * 1024 + 17),
  'weights/shard-00002.safetensors': randomBytes(2 * 1024 * 1024),
  'weights/Ünïcødé name.bin': randomBytes(1000),
  'tokenizer/empty.txt': Buffer.alloc(0),
  'a/b/c/deep.bin': randomBytes(70_000),
  'B-upper.txt': Buffer.from('uppercase sorts before lowercase bytewise'),
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vigil-models-'));
  model = join(root, 'model');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(model, rel, '..'), { recursive: true });
    writeFileSync(join(model, rel), content);
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function sha256sumManifestDigest(dir: string): string {
  // The pipeline documented in manifest.ts, run by real tools.
  return execFileSync('sh', ['-c', "find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"], { cwd: dir, encoding: 'utf8' }).split(' ')[0]!;
}

describe('hashModel', () => {
  it('hashes a folder like sha256sum, in bytewise path order, with the documented manifest digest', async () => {
    const m = await hashModel(model, { readSize: 256 * 1024 });
    expect(m.kind).toBe('folder');
    const expectedOrder = Object.keys(files).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(m.files.map((f) => f.path)).toEqual(expectedOrder);
    for (const f of m.files) {
      const tool = execFileSync('sha256sum', [f.absolutePath], { encoding: 'utf8' }).split(' ')[0];
      expect(f.digest).toBe(tool);
      expect(f.size).toBe(files[f.path]!.length);
    }
    expect(m.manifestDigest).toBe(sha256sumManifestDigest(model));
    expect(m.manifestDigest).toBe(createHash('sha256').update(modelManifest(m.files)).digest('hex'));
    expect(m.totalBytes).toBe(Object.values(files).reduce((n, b) => n + b.length, 0));
  });

  it('gives the same result with one worker or many', async () => {
    const one = await hashModel(model, { concurrency: 1 });
    const four = await hashModel(model, { concurrency: 4, readSize: 64 * 1024 });
    expect(four).toEqual(one);
  });

  it('hashes a single file in the calling thread, named by its file name', async () => {
    const path = join(model, 'weights/shard-00001.safetensors');
    const m = await hashModel(path, { readSize: 64 * 1024 });
    expect(m.kind).toBe('file');
    expect(m.files).toHaveLength(1);
    expect(m.files[0]!.path).toBe('shard-00001.safetensors');
    expect(m.files[0]!.digest).toBe(createHash('sha256').update(files['weights/shard-00001.safetensors']!).digest('hex'));
  });

  it('reports progress that adds up to the total', async () => {
    const seen: HashProgress[] = [];
    const m = await hashModel(model, { readSize: 64 * 1024, onProgress: (p) => seen.push(p) });
    const last = seen.at(-1)!;
    expect(last).toEqual({ bytesDone: m.totalBytes, bytesTotal: m.totalBytes, filesDone: m.files.length, filesTotal: m.files.length });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesDone).toBeGreaterThanOrEqual(seen[i - 1]!.bytesDone);
  });

  describe('refusals', () => {
    let dir: string;
    beforeAll(() => {
      dir = join(root, 'refusals');
      mkdirSync(dir);
    });

    async function codeOf(path: string, options = {}): Promise<string> {
      try {
        await hashModel(path, options);
      } catch (err) {
        if (err instanceof ModelHashError) return err.code;
        throw err;
      }
      return 'ok';
    }

    it('refuses symbolic links unless allowed, and then follows them without looping', async () => {
      const linked = join(dir, 'linked');
      mkdirSync(linked);
      writeFileSync(join(linked, 'real.bin'), 'real');
      symlinkSync(join(model, 'config.json'), join(linked, 'link.json'));
      expect(await codeOf(linked)).toBe('symlink');
      expect(await codeOf(join(linked, 'link.json'))).toBe('symlink');
      const followed = await hashModel(linked, { allowSymlinks: true });
      expect(followed.files.map((f) => f.path)).toEqual(['link.json', 'real.bin']);
      expect(followed.files[0]!.digest).toBe(createHash('sha256').update(files['config.json']!).digest('hex'));

      const loop = join(dir, 'loop');
      mkdirSync(loop);
      writeFileSync(join(loop, 'x'), 'x');
      symlinkSync(loop, join(loop, 'self'));
      expect(await codeOf(loop, { allowSymlinks: true })).toBe('symlink');
    });

    it('names what it cannot measure', async () => {
      expect(await codeOf(join(dir, 'missing'))).toBe('not-found');
      const empty = join(dir, 'empty');
      mkdirSync(join(empty, 'sub'), { recursive: true });
      expect(await codeOf(empty)).toBe('empty');
      const odd = join(dir, 'odd');
      mkdirSync(odd);
      writeFileSync(join(odd, 'line\nbreak'), 'x');
      expect(await codeOf(odd)).toBe('unsupported-name');
      const fifo = join(dir, 'fifo-folder');
      mkdirSync(fifo);
      execFileSync('mkfifo', [join(fifo, 'pipe')]);
      expect(await codeOf(fifo)).toBe('unsupported-type');
    });
  });
});
