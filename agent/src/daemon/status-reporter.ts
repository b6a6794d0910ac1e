import type { Logger } from '../log.js';
import { writeStatusFile } from './status-file.js';
import type { AgentStatus } from './status-schema.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Holds the daemon's status and keeps `STATE/status.json` in step with it:
 * changes are coalesced (at most one write per `intervalMs`, written within
 * that time of the change) and each write replaces the file atomically.
 */
export class StatusReporter {
  #status: Mutable<AgentStatus>;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #failedOnce = false;

  constructor(
    private readonly stateDir: string,
    initial: AgentStatus,
    private readonly log: Logger,
    private readonly intervalMs = 50,
  ) {
    this.#status = { ...initial };
  }

  get current(): AgentStatus {
    return this.#status;
  }

  /** Applies a change and schedules a write. */
  update(change: (status: Mutable<AgentStatus>) => void): void {
    change(this.#status);
    this.#status.updatedAt = Date.now();
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  /** Writes now (and waits for writes in flight). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const snapshot = structuredClone(this.#status);
    this.#writing = this.#writing.then(() =>
      writeStatusFile(this.stateDir, snapshot).then(
        () => {
          this.#failedOnce = false;
        },
        (err: unknown) => {
          // Once per streak: a full disk must not flood the journal.
          if (!this.#failedOnce) this.log.error({ err }, 'cannot write the status file');
          this.#failedOnce = true;
        },
      ),
    );
    await this.#writing;
  }
}
