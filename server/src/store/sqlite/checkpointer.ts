import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { CheckpointReply, CheckpointWorkerData } from './checkpoint-protocol.js';

/**
 * The compiled worker. This file has the same depth in src/ and dist/, so
 * the URL resolves to dist/ from both (tests run the sources).
 */
const WORKER_URL = new URL('../../../dist/store/sqlite/checkpoint-worker.js', import.meta.url);

/** SQLite's own default: a checkpoint once the WAL holds 1000 pages. */
const INLINE_AUTOCHECKPOINT_PAGES = 1000;

export interface CheckpointerOptions {
  readonly intervalMs?: number;
  readonly busyTimeoutMs: number;
  readonly synchronous: 'NORMAL' | 'FULL';
  /** Told when the worker failed and checkpoints went back to the writer's commits. */
  readonly onFallback?: (reason: string) => void;
}

/**
 * WAL checkpoints of a long-running SQLite store, moved off the thread
 * that writes. By default SQLite checkpoints inside the commit that takes
 * the WAL past 1000 pages, and a checkpoint fsyncs: on the server that
 * commit is on the event loop, which then waits for the disk with every
 * device's messages behind it (measured: the verify benchmark carried ~25 %
 * more verdicts a second on tmpfs than on this machine's disk). Here the
 * store's connection stops checkpointing (`wal_autocheckpoint = 0`) and a
 * worker thread checkpoints on its own connection every `intervalMs`.
 *
 * If the worker cannot start or fails, the store's connection checkpoints
 * inline again, as SQLite does by default: checkpoints are never left undone.
 */
export class BackgroundCheckpointer {
  #worker: Worker | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(
    private readonly db: Database,
    worker: Worker,
    private readonly onFallback: ((reason: string) => void) | undefined,
  ) {
    this.#worker = worker;
    worker.on('message', (reply: CheckpointReply) => {
      if (reply.type === 'failed') this.#fallBack(`checkpoint failed: ${reply.message}`);
    });
    worker.on('error', (err) => this.#fallBack(`checkpoint worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.#stopped === undefined) this.#fallBack(`checkpoint worker exited (${code})`);
    });
    // A store left open must not keep the process alive on the worker's account.
    worker.unref();
  }

  /** Starts checkpointing `path` in the background; undefined (inline checkpoints stay) without the compiled worker. */
  static start(db: Database, path: string, options: CheckpointerOptions): BackgroundCheckpointer | undefined {
    if (!existsSync(WORKER_URL)) return undefined;
    const workerData: CheckpointWorkerData = { path, intervalMs: options.intervalMs ?? 250, busyTimeoutMs: options.busyTimeoutMs, synchronous: options.synchronous };
    const worker = new Worker(WORKER_URL, { workerData, execArgv: [] });
    db.pragma('wal_autocheckpoint = 0');
    return new BackgroundCheckpointer(db, worker, options.onFallback);
  }

  /** Whether checkpoints still run in the background (false after a fallback or stop). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Stops the worker (its connection closed) and waits for it; the store's connection checkpoints on close. */
  stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve();
    this.#stopped ??= new Promise<void>((resolve) => {
      // Held by the worker from here on: a process whose last act is closing the store must wait for it
      // (unreferenced, the process would end first, with the close still pending).
      worker.ref();
      worker.once('exit', () => {
        this.#worker = undefined;
        resolve();
      });
      worker.postMessage('stop');
    });
    return this.#stopped;
  }

  #fallBack(reason: string): void {
    if (this.#worker === undefined) return;
    const worker = this.#worker;
    this.#worker = undefined;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${INLINE_AUTOCHECKPOINT_PAGES}`);
    void worker.terminate();
    this.onFallback?.(reason);
  }
}
