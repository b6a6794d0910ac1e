import { CliError, ExitCode } from '../cli/exit-codes.js';

/** The demo was interrupted (Ctrl-C or SIGTERM): it stops everything and exits 128 + the signal number. */
export class DemoInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted (${signal})`);
    this.name = 'DemoInterrupted';
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DemoInterrupted('SIGINT');
}

/** Waits `ms`, or less if `signal` aborts (then rejects with the abort reason). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface WaitOptions {
  readonly signal: AbortSignal;
  /** Give up after this long with a CliError naming `what`. */
  readonly timeoutMs: number;
  /** What is awaited, for the timeout message ("3 devices to enroll"). */
  readonly what: string;
  /** Exit code of the timeout error (default: 1, the outcome did not happen). */
  readonly exitCode?: ExitCode;
  /** Poll interval (default 50 ms). */
  readonly everyMs?: number;
  /** Extra text for the timeout message: where to look (log files). */
  readonly hint?: () => string;
}

/** Polls `probe` until it returns a value other than undefined, and returns that value. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const hint = options.hint?.() ?? '';
      throw new CliError(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what}${hint ? `\n${hint}` : ''}`, options.exitCode ?? ExitCode.Failed);
    }
    await sleep(options.everyMs ?? 50, options.signal);
  }
}
