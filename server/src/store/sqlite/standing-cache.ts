import type { DeviceStanding } from '../entities/device.js';

/**
 * The device standings one SQLite connection has read, served again while
 * no commit can have changed them. The verifier reads a device's standing
 * for its challenge and again for the evidence that answers it, so the
 * second read is usually of a row nothing has written since.
 *
 * Three kinds of commit can change a standing, and each empties what it
 * could have made stale:
 * - this connection's own: the store forgets the device a verdict was
 *   written for, and every other write empties the cache whole;
 * - another connection's in this process (a second store on the same file):
 *   every write through a store empties every other store's cache;
 * - another process's (a second server, the CLI, a statement run behind the
 *   store's back): SQLite's `PRAGMA data_version` changes on this connection
 *   when any other connection commits (sqlite.org/pragma.html#pragma_data_version),
 *   and a change empties the cache. It is read at the first lookup of each
 *   turn of the event loop, not at every lookup: the pragma starts a read
 *   transaction, which costs about what the standing's own read does
 *   (measured: docs/benchmarks.md, nineteenth round).
 *
 * So a standing served from here is what a read would have returned at the
 * start of this turn of the event loop, with every commit made through this
 * process since then applied: another process's commit is seen from the
 * next turn on, where a read at every lookup would see it a few
 * milliseconds sooner. A verdict's appraisal spans turns in any case (its
 * signature is checked on the thread pool), so the standing it is judged
 * against was always that of a moment a turn or more before its record.
 */
export class StandingCache {
  /** The caches of the stores open in this process. */
  static readonly #open = new Set<StandingCache>();
  readonly #entries = new Map<string, DeviceStanding>();
  #version: number | undefined;
  /** The data version has been read in this turn of the event loop. */
  #checked = false;
  readonly #turnEnded = () => {
    this.#checked = false;
  };

  constructor(
    /** The connection's `PRAGMA data_version`. */
    private readonly dataVersion: () => number,
    /** Most standings held; a full cache is emptied (entries live only from a challenge to its answer). */
    private readonly capacity = 65_536,
  ) {
    StandingCache.#open.add(this);
  }

  /** The standing held for `id`, if no commit since it was read can have changed it. */
  get(id: string): DeviceStanding | undefined {
    if (!this.#checked) {
      this.#checked = true;
      setImmediate(this.#turnEnded);
      const version = this.dataVersion();
      if (version !== this.#version) {
        this.#entries.clear();
        this.#version = version;
        return undefined;
      }
    }
    return this.#entries.get(id);
  }

  /**
   * Holds a standing just read. Call only after `get` missed in the same
   * synchronous step: a commit by another process between the data version
   * `get` compared and the read makes the next turn's `get` see a new
   * version and drop it.
   */
  set(id: string, standing: DeviceStanding): void {
    if (this.#entries.size >= this.capacity) this.#entries.clear();
    this.#entries.set(id, standing);
  }

  /** A write through this connection changed the device's row or log state. */
  forget(id: string): void {
    this.#entries.delete(id);
  }

  /**
   * This connection wrote (committed or not): every other connection's
   * cache in the process is emptied, and with `all` (a write that may
   * change any standing) this one too.
   */
  wrote(all: boolean): void {
    if (all) this.#entries.clear();
    if (StandingCache.#open.size > 1) for (const other of StandingCache.#open) if (other !== this) other.#entries.clear();
  }

  /** The connection is closed. */
  close(): void {
    this.#entries.clear();
    StandingCache.#open.delete(this);
  }

  get size(): number {
    return this.#entries.size;
  }
}
