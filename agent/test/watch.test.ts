import { mkdir, mkdtemp, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ModelChanges, ModelWatcher, type ModelWatcherOptions, scanModelFiles, diffFingerprints } from '../src/watch/index.js';

const log = pino({ level: 'silent' });
let root: string;
const watchers: ModelWatcher[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigil-agent-watch-'));
});
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh model folder with three files and a single-file model beside it. */
async function models(name: string): Promise<{ folder: string; single: string; files: string[] }> {
  const base = join(root, name);
  const folder = join(base, 'llm');
  await mkdir(join(folder, 'shards'), { recursive: true });
  const files = [join(folder, 'config.json'), join(folder, 'shards', 'a.bin'), join(folder, 'shards', 'b.bin')];
  for (const [i, f] of files.entries()) await writeFile(f, `content ${i}\n`);
  const single = join(base, 'detector.onnx');
  await writeFile(single, 'onnx bytes');
  return { folder, single, files };
}

/** A watcher whose measurements are recorded; `next()` resolves with the next change set. */
function recorder(options: Partial<ModelWatcherOptions> & Pick<ModelWatcherOptions, 'roots'>) {
  const calls: ModelChanges[] = [];
  const waiters: Array<(c: ModelChanges) => void> = [];
  let failNext: string[] = [];
  let during: ((c: ModelChanges) => Promise<void>) | undefined;
  const w = new ModelWatcher({
    followSymlinks: false,
    debounceMs: 20,
    maxDelayMs: 200,
    sweepMs: 3_600_000,
    log,
    ...options,
    onChanges: async (changes) => {
      await during?.(changes);
      calls.push(changes);
      waiters.shift()?.(changes);
      const failed = failNext;
      failNext = [];
      return { failed };
    },
  });
  watchers.push(w);
  return {
    w,
    calls,
    next: () => new Promise<ModelChanges>((resolve) => waiters.push(resolve)),
    failOnce: (paths: string[]) => {
      failNext = paths;
    },
    setDuring: (fn: (c: ModelChanges) => Promise<void>) => {
      during = fn;
    },
  };
}

describe('model file scan', () => {
  it('lists every file with its fingerprint and reports what cannot be measured', async () => {
    const m = await models('scan');
    await symlink(m.single, join(m.folder, 'link.onnx'));
    const scan = await scanModelFiles([m.folder, m.single, join(root, 'scan', 'missing')], { followSymlinks: false });
    expect([...scan.files.keys()].sort()).toEqual([...m.files, m.single].sort());
    expect(scan.problems.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringContaining('symbolic link'), 'does not exist']));
    const followed = await scanModelFiles([m.folder], { followSymlinks: true });
    expect(followed.files.has(join(m.folder, 'link.onnx'))).toBe(true);
    const capped = await scanModelFiles([m.folder], { followSymlinks: false, maxFiles: 2 });
    expect(capped.files.size).toBe(2);
    expect(capped.problems.at(-1)?.message).toContain('more than 2 files');
  });

  it('sees a byte changed in place, a file replaced by rename, and mtime set back by utimes (ctime still moves)', async () => {
    const m = await models('diff');
    const before = (await scanModelFiles([m.folder], { followSymlinks: false })).files;
    const [a, b, c] = m.files as [string, string, string];
    const oldStat = await stat(b);
    await writeFile(a, 'content 9\n'); // same size, new bytes
    await writeFile(`${b}.new`, 'content 1\n');
    await rename(`${b}.new`, b); // same bytes and size, new inode
    await writeFile(c, 'content 7\n');
    await utimes(c, oldStat.atime, oldStat.mtime); // mtime rolled back
    const after = (await scanModelFiles([m.folder], { followSymlinks: false })).files;
    expect([...diffFingerprints(before, after).changed].sort()).toEqual([a, b, c].sort());
    expect(diffFingerprints(after, after)).toEqual({ changed: [], removed: [] });
  });
});

describe('ModelWatcher', () => {
  it('measures everything at start, then only the file that changed, once per burst', async () => {
    const m = await models('burst');
    const r = recorder({ roots: [m.folder, m.single] });
    await r.w.start();
    expect(r.calls).toHaveLength(1);
    expect([...r.calls[0]!.changed].sort()).toEqual([...m.files, m.single].sort());

    const next = r.next();
    for (let i = 0; i < 20; i++) await writeFile(m.files[1]!, `burst ${i}\n`);
    const changes = await next;
    expect(changes.changed).toEqual([m.files[1]]);

    const single = r.next();
    await writeFile(m.single, 'onnx bytes, tampered');
    expect((await single).changed).toEqual([m.single]);
  });

  it('reports new and removed files', async () => {
    const m = await models('addremove');
    const r = recorder({ roots: [m.folder] });
    await r.w.start();
    const next = r.next();
    await rm(m.files[0]!);
    await writeFile(join(m.folder, 'shards', 'c.bin'), 'new shard');
    // Both operations may arrive as one burst or two; collect until both are seen.
    const seen = { changed: new Set<string>(), removed: new Set<string>() };
    let c = await next;
    for (;;) {
      c.changed.forEach((p) => seen.changed.add(p));
      c.removed.forEach((p) => seen.removed.add(p));
      if (seen.changed.size > 0 && seen.removed.size > 0) break;
      c = await r.next();
    }
    expect([...seen.changed]).toEqual([join(m.folder, 'shards', 'c.bin')]);
    expect([...seen.removed]).toEqual([m.files[0]]);
    expect(r.w.measured.has(m.files[0]!)).toBe(false);
  });

  it('finds by stat alone (check, what the sweep runs) a change no event reported', async () => {
    const m = await models('sweep');
    // A debounce of a minute: the event path cannot fire during the test.
    const r = recorder({ roots: [m.single], debounceMs: 60_000, maxDelayMs: 60_000 });
    await r.w.start();
    await writeFile(m.single, 'changed, no event handled');
    await r.w.check();
    expect(r.calls.at(-1)!.changed).toEqual([m.single]);
    expect(r.calls).toHaveLength(2);
  });

  it('sweeps on its timer when events are missed', async () => {
    const m = await models('timer');
    const r = recorder({ roots: [m.folder], sweepMs: 50, debounceMs: 60_000, maxDelayMs: 60_000 });
    await r.w.start();
    // A debounce of a minute means the fs event path cannot fire within the test: only the sweep can.
    const next = r.next();
    await writeFile(m.files[2]!, 'swept');
    expect((await next).changed).toEqual([m.files[2]]);
  });

  it('measures a file again when it changed while it was being measured', async () => {
    const m = await models('during');
    const r = recorder({ roots: [m.single] });
    await r.w.start();
    let once = true;
    r.setDuring(async () => {
      if (!once) return;
      once = false;
      await writeFile(m.single, 'written during hashing, longer');
    });
    const first = r.next();
    await writeFile(m.single, 'first change');
    await first;
    const second = await r.next();
    expect(second.changed).toEqual([m.single]);
  });

  it('tries a file again at the next check when its measurement failed', async () => {
    const m = await models('retry');
    const r = recorder({ roots: [m.single] });
    r.failOnce([m.single]);
    await r.w.start();
    expect(r.w.measured.has(m.single)).toBe(false);
    await r.w.check();
    expect(r.calls.at(-1)!.changed).toEqual([m.single]);
    expect(r.w.measured.has(m.single)).toBe(true);
    const count = r.calls.length;
    await r.w.check(); // nothing changed: nothing measured
    expect(r.calls).toHaveLength(count);
  });

  it('starting from what an earlier run measured, reads only the files that changed since, and reports what is measured', async () => {
    const m = await models('seeded');
    const earlier = (await scanModelFiles([m.folder], { followSymlinks: false })).files;
    await writeFile(m.files[0]!, 'changed while the agent was down\n');
    const reported: number[] = [];
    const r = recorder({ roots: [m.folder], onMeasured: (measured) => reported.push(measured.size) });
    await r.w.start(earlier);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]!.changed).toEqual([m.files[0]]);
    expect(reported).toEqual([3]);
    const untouched = recorder({ roots: [m.folder] });
    await untouched.w.start((await scanModelFiles([m.folder], { followSymlinks: false })).files);
    expect(untouched.calls).toEqual([]); // nothing changed: nothing read
  });

  it('measures every file again after remeasureAll (a TPM reset zeroed the model PCR)', async () => {
    const m = await models('reset');
    const r = recorder({ roots: [m.folder] });
    await r.w.start();
    await r.w.remeasureAll();
    expect([...r.calls.at(-1)!.changed].sort()).toEqual([...m.files].sort());
  });
});
