import type { Writable } from 'node:stream';

/** ANSI SGR styles; identity functions when colour is off. */
export interface Paint {
  readonly ok: (s: string) => string;
  readonly warn: (s: string) => string;
  readonly bad: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const plain = (s: string): string => s;

export interface TerminalOptions {
  /** ANSI colours (off with --no-color, NO_COLOR, or when not interactive). */
  readonly color: boolean;
  /** A TTY: progress spinners and a table refreshed in place. Otherwise plain lines, once each. */
  readonly interactive: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * The demo's output: narrated steps with their duration, a spinner with
 * progress while a slow step runs, and a live region (the fleet table)
 * redrawn in place on a TTY. Without a TTY every line is printed once and
 * nothing is redrawn, so logs and pipes stay readable.
 */
export class Terminal {
  readonly paint: Paint;
  #liveLines = 0;
  #transient = false;

  constructor(
    private readonly out: Writable,
    readonly options: TerminalOptions,
  ) {
    this.paint = options.color
      ? { ok: sgr('32'), warn: sgr('33'), bad: sgr('31'), dim: sgr('2'), bold: sgr('1') }
      : { ok: plain, warn: plain, bad: plain, dim: plain, bold: plain };
  }

  /** Prints lines below everything printed so far (a live region stays where it is, frozen). */
  line(text = ''): void {
    this.#clearTransient();
    this.#liveLines = 0;
    this.out.write(`${text}\n`);
  }

  /**
   * Runs a step: on a TTY a spinner line with the latest `progress` detail,
   * replaced by "✓ title (duration)" or "✗ title"; otherwise just the final line.
   */
  async step<T>(title: string, work: (progress: (detail: string) => void) => Promise<T>, done?: (result: T) => string): Promise<T> {
    const started = Date.now();
    let detail = '';
    let frame = 0;
    const draw = (): void => {
      this.#clearTransient();
      this.out.write(`${this.paint.dim(SPINNER[frame++ % SPINNER.length]!)} ${title}${detail ? this.paint.dim(`  ${detail}`) : ''}`);
      this.#transient = true;
    };
    const timer = this.options.interactive ? setInterval(draw, 100) : undefined;
    timer?.unref();
    if (this.options.interactive) draw();
    try {
      const result = await work((d) => {
        detail = d;
        if (this.options.interactive) draw();
      });
      if (timer) clearInterval(timer);
      const summary = done?.(result) ?? title;
      this.line(`${this.paint.ok('✓')} ${summary} ${this.paint.dim(`(${seconds(Date.now() - started)})`)}`);
      return result;
    } catch (err) {
      if (timer) clearInterval(timer);
      this.line(`${this.paint.bad('✗')} ${title}`);
      throw err;
    }
  }

  /** Shows an operator command the demo runs, as it would be typed. */
  command(args: string): void {
    this.line(this.paint.dim(`  $ ${args}`));
  }

  /**
   * Draws `lines` as the live region: on a TTY it replaces the previous
   * frame (if nothing was printed since); otherwise the lines are printed.
   */
  frame(lines: readonly string[]): void {
    this.#clearTransient();
    if (this.options.interactive && this.#liveLines > 0) {
      // Up to the first line of the previous frame, then clear to the end of the screen.
      this.out.write(`\x1b[${this.#liveLines}F\x1b[J`);
    }
    this.out.write(lines.map((l) => `${l}\n`).join(''));
    this.#liveLines = lines.length;
  }

  #clearTransient(): void {
    if (this.#transient) {
      this.out.write('\r\x1b[2K');
      this.#transient = false;
    }
  }
}

export { seconds as formatSeconds };
