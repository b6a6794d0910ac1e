/**
 * A child process of the floor (the server or the devices), run from the
 * built `dist/` whichever tree the caller runs from, and talked to over IPC.
 * `stop` ends it on every path: the polite `stop` message first, SIGTERM if
 * it is still there after the grace period, SIGKILL after that.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `bench/dist/floor/<file>` from bench/src/floor/ (tests) or bench/dist/floor/ (benchmarks). */
export function builtChildScript(file: string): string {
  return fileURLToPath(new URL(`../../dist/floor/${file}`, import.meta.url));
}

export class FloorChild<Control extends { readonly type: string }, Report extends { readonly type: string }> {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #listeners = new Set<(m: Report) => void>();

  constructor(
    readonly name: string,
    script: string,
  ) {
    // VIGIL_BENCH_FLOOR_NODE_OPTIONS: node flags for the children only (e.g. --cpu-prof to profile them).
    const execArgv = (process.env['VIGIL_BENCH_FLOOR_NODE_OPTIONS'] ?? '').split(' ').filter((a) => a.length > 0);
    this.#child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (m: unknown) => this.#listeners.forEach((l) => l(m as Report)));
    // A child that fails to start reports it through `next` (exit); this only keeps the error from being unhandled.
    this.#child.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  send(message: Control): void {
    if (this.#child.connected) this.#child.send(message);
  }

  /**
   * The next report of `type` (and, if given, `where`), within `timeoutMs`.
   * Rejects when the child reports an error, exits first, or the time runs out.
   */
  next<K extends Report['type']>(type: K, timeoutMs: number, where?: (m: Extract<Report, { type: K }>) => boolean): Promise<Extract<Report, { type: K }>> {
    type Wanted = Extract<Report, { type: K }>;
    return new Promise((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        this.#child.off('exit', onExit);
        settle();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => done(() => reject(new Error(`${this.name} exited (${signal ?? `code ${code}`})`)));
      const listener = (m: Report) => {
        if (m.type === 'error') done(() => reject(new Error(`${this.name}: ${(m as { message?: string }).message ?? 'error'}`)));
        else if (m.type === type && (where === undefined || where(m as Wanted))) done(() => resolve(m as Wanted));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: no ${type} within ${timeoutMs} ms`))), timeoutMs);
      this.#listeners.add(listener);
      this.#child.once('exit', onExit);
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) onExit(this.#child.exitCode, this.#child.signalCode);
    });
  }

  /** Ends the process: `stopMessage` and `graceMs` to go, then SIGTERM, then SIGKILL. Resolves once it has exited. */
  async stop(stopMessage: Control, graceMs: number): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.send(stopMessage);
    if (await this.#exitWithin(graceMs)) return;
    this.#child.kill('SIGTERM');
    if (await this.#exitWithin(2000)) return;
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  async #exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const exited = await Promise.race([this.#exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return exited;
  }
}
