import { analyseBootLog, type BootLogAnalysis } from '../logs/boot-log.js';
import { Lru } from './lru.js';

/**
 * Boot event log analyses by the log's SHA-256, bounded: a device sends its
 * log once per boot and then only names it by digest, and devices built
 * from one image often share a log, so the parse and replay happen once.
 * Concurrent requests for the same digest share one analysis.
 */
export class BootLogCache {
  readonly #cache: Lru<string, BootLogAnalysis>;
  readonly #pending = new Map<string, Promise<BootLogAnalysis>>();

  constructor(capacity = 1024) {
    this.#cache = new Lru(capacity);
  }

  get(digest: string): BootLogAnalysis | undefined {
    return this.#cache.get(digest);
  }

  /** The analysis of `bytes`, whose SHA-256 the caller checked is `digest`. */
  analyse(digest: string, bytes: Uint8Array): Promise<BootLogAnalysis> {
    const cached = this.#cache.get(digest);
    if (cached !== undefined) return Promise.resolve(cached);
    let p = this.#pending.get(digest);
    if (p === undefined) {
      p = analyseBootLog(bytes, digest).then(
        (a) => {
          this.#cache.set(digest, a);
          this.#pending.delete(digest);
          return a;
        },
        (err: unknown) => {
          this.#pending.delete(digest);
          throw err;
        },
      );
      this.#pending.set(digest, p);
    }
    return p;
  }
}
