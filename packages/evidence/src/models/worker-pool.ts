/**
 * A bounded pool of worker threads that hash files in parallel: SHA-256 is
 * CPU-bound, so one file per core is what makes a folder of model shards
 * hash faster than one thread can.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ModelHashError } from './errors.js';
import type { FileDigest } from './hash-file.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * The worker always runs from the built file: this module sits at the same
 * depth in src/ and dist/, so the path works from both (vitest runs src/).
 */
const WORKER_URL = new URL('../../dist/models/hash-worker.js', import.meta.url);

interface Job {
  readonly request: WorkerRequest;
  readonly onBytes: ((n: number) => void) | undefined;
  readonly resolve: (d: FileDigest) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
}

export class HashWorkerPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 0;
  #closed = false;
  readonly #overlapReads: boolean;

  /**
   * @param size worker threads
   * @param overlapReads overlap each worker's reads with its hashing; worth it
   *   only while there are cores to spare (hash-file.ts)
   */
  constructor(size: number, overlapReads = size < availableParallelism()) {
    this.#overlapReads = overlapReads;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
    if (!existsSync(WORKER_URL)) {
      throw new ModelHashError('worker', fileURLToPath(WORKER_URL), 'hash worker is not built (run `npx tsc -b packages/evidence`)');
    }
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  #spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_URL), job: undefined };
    slot.worker.on('message', (m: WorkerReply) => this.#onReply(slot, m));
    slot.worker.on('error', (err) => this.#failAll(new ModelHashError('worker', slot.job?.request.path ?? '', `hash worker failed: ${err.message}`, { cause: err })));
    slot.worker.on('exit', (code) => {
      if (!this.#closed) this.#failAll(new ModelHashError('worker', slot.job?.request.path ?? '', `hash worker exited with code ${code}`));
    });
    return slot;
  }

  /** Hashes `path` on the next free worker. */
  hash(path: string, readSize: number, onBytes?: (n: number) => void): Promise<FileDigest> {
    if (this.#closed) return Promise.reject(new ModelHashError('worker', path, 'the hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { id: this.#nextId++, path, readSize, overlapReads: this.#overlapReads }, onBytes, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job) continue;
      const job = this.#queue.shift();
      if (!job) return;
      slot.job = job;
      slot.worker.postMessage(job.request);
    }
  }

  #onReply(slot: Slot, m: WorkerReply): void {
    const job = slot.job;
    if (!job || job.request.id !== m.id) return;
    if (m.kind === 'progress') {
      job.onBytes?.(m.bytes);
      return;
    }
    slot.job = undefined;
    if (m.kind === 'done') job.resolve({ digest: m.digest, size: m.size });
    else job.reject(new ModelHashError(m.code === 'ENOENT' ? 'not-found' : 'io', job.request.path, m.message));
    this.#dispatch();
  }

  #failAll(err: ModelHashError): void {
    for (const slot of this.#slots) {
      slot.job?.reject(err);
      slot.job = undefined;
    }
    for (const job of this.#queue.splice(0)) job.reject(err);
    void this.close();
  }

  /** Stops every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new ModelHashError('worker', job.request.path, 'the hash pool was closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
