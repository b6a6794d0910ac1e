import { type FSWatcher, watch } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { diffFingerprints, hasChanges, type ModelChanges } from './changes.js';
import { Debouncer } from './debouncer.js';
import { fingerprintOf, sameFingerprint, type FileFingerprint } from './fingerprint.js';
import { scanModelFiles, type ModelFileScan } from './model-files.js';

export interface ModelWatcherOptions {
  /** Model files and folders (absolute). */
  readonly roots: readonly string[];
  readonly followSymlinks: boolean;
  /** Quiet time that ends a burst of change events. */
  readonly debounceMs: number;
  /** Longest a change waits for its burst to end. */
  readonly maxDelayMs: number;
  /** Interval of the stat sweep that catches changes the file system did not report. */
  readonly sweepMs: number;
  readonly log: Logger;
  /**
   * Measures the changed files (hash, extend, log). Files it names in
   * `failed` are not recorded as measured, so the next event or sweep tries
   * them again. Never called twice at once.
   */
  readonly onChanges: (changes: ModelChanges, scan: ModelFileScan) => Promise<{ readonly failed?: readonly string[] }>;
  /** After a pass that measured something: the files now measured, by fingerprint as measured. */
  readonly onMeasured?: (measured: ReadonlyMap<string, FileFingerprint>) => void;
  readonly maxFiles?: number;
}

/**
 * Watches the model files and hands every change to `onChanges`, once per
 * burst, with only the files whose fingerprint (inode, size, mtime, ctime)
 * changed: unchanged files are never re-read.
 *
 * Events come from fs.watch (recursive on folders; on a single file, its
 * folder, so that a file replaced by rename is still seen), debounced; a
 * periodic stat sweep catches what the file system did not report (network
 * file systems, overlay mounts, an inotify limit reached, a watcher that
 * died), and re-arms dead watchers. After a measurement, the measured files
 * are stat'ed again: a file that changed while it was hashed is measured
 * again at once.
 */
export class ModelWatcher {
  readonly #options: ModelWatcherOptions;
  readonly #debouncer: Debouncer;
  #known = new Map<string, FileFingerprint>();
  #watchers = new Map<string, FSWatcher>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #reported = new Set<string>();
  #pending = 0;

  constructor(options: ModelWatcherOptions) {
    this.#options = { ...options, roots: options.roots.map((r) => resolve(r)) };
    this.#debouncer = new Debouncer(options.debounceMs, options.maxDelayMs, () => void this.check());
  }

  /** Files measured so far, by path. */
  get measured(): ReadonlyMap<string, FileFingerprint> {
    return this.#known;
  }

  /** Files seen changed and waiting for (or in) measurement. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Arms the watchers and the sweep, then measures every file the first
   * check finds new or different from `measured` (what an earlier run
   * measured, by fingerprint; default nothing: every file). Resolves when
   * that first measurement is done.
   */
  async start(measured?: ReadonlyMap<string, FileFingerprint>): Promise<void> {
    if (measured) this.#known = new Map(measured);
    await this.#armWatchers();
    this.#sweepTimer = setInterval(() => {
      void this.#armWatchers();
      void this.check();
    }, this.#options.sweepMs);
    this.#sweepTimer.unref();
    await this.check();
  }

  /**
   * Forgets every measurement so the next check measures all files again:
   * after a TPM reset the model PCR is zero and the log starts over.
   */
  async remeasureAll(): Promise<void> {
    this.#known = new Map();
    await this.check();
  }

  /**
   * Scans now and measures what changed. Concurrent calls coalesce: a call
   * during a measurement makes one more pass after it, and resolves after that.
   */
  check(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pass();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  stop(): void {
    this.#stopped = true;
    this.#debouncer.stop();
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  async #pass(): Promise<void> {
    const scan = await scanModelFiles(this.#options.roots, { followSymlinks: this.#options.followSymlinks, maxFiles: this.#options.maxFiles });
    this.#reportProblems(scan);
    const changes = diffFingerprints(this.#known, scan.files);
    if (!hasChanges(changes)) return;
    this.#pending = changes.changed.length;
    for (const path of changes.removed) this.#known.delete(path);
    let failed: ReadonlySet<string> = new Set();
    try {
      const result = await this.#options.onChanges(changes, scan);
      failed = new Set(result.failed ?? []);
    } catch (err) {
      this.#options.log.error({ err, files: changes.changed.length }, 'model measurement failed; will retry at the next change or sweep');
      failed = new Set(changes.changed);
    } finally {
      this.#pending = 0;
    }
    let movedMeanwhile = false;
    for (const path of changes.changed) {
      if (failed.has(path)) continue;
      const before = scan.files.get(path)!;
      this.#known.set(path, before);
      const now = await fingerprintOf(path, this.#options.followSymlinks).catch(() => undefined);
      if (now === undefined || !sameFingerprint(now, before)) movedMeanwhile = true;
    }
    this.#options.onMeasured?.(this.#known);
    if (movedMeanwhile && !this.#stopped) {
      this.#options.log.debug('a model file changed while it was measured; measuring again');
      this.#again = true;
    }
  }

  #reportProblems(scan: ModelFileScan): void {
    const current = new Set<string>();
    for (const p of scan.problems) {
      const key = `${p.path}\0${p.message}`;
      current.add(key);
      if (!this.#reported.has(key)) this.#options.log.warn({ path: p.path, problem: p.message }, 'model path cannot be measured');
    }
    this.#reported = current;
  }

  /** Watches each root (a folder recursively; a file through its folder), re-arming watchers that died. */
  async #armWatchers(): Promise<void> {
    for (const root of this.#options.roots) {
      if (this.#stopped || this.#watchers.has(root)) continue;
      let isDir: boolean;
      try {
        isDir = (await lstat(root)).isDirectory();
      } catch {
        continue; // reported by the scan; re-armed by a later sweep once it exists
      }
      const target = isDir ? root : dirname(root);
      const name = basename(root);
      try {
        const w = watch(target, { recursive: isDir, persistent: false }, (_event, file) => {
          if (isDir || file === null || file === name) this.#debouncer.poke();
        });
        w.on('error', (err) => {
          this.#options.log.warn({ err, path: root }, 'file watcher failed; the periodic sweep covers this path');
          w.close();
          if (this.#watchers.get(root) === w) this.#watchers.delete(root);
          this.#debouncer.poke();
        });
        this.#watchers.set(root, w);
      } catch (err) {
        this.#options.log.warn({ err, path: root }, 'cannot watch model path; the periodic sweep covers it');
      }
    }
  }
}
