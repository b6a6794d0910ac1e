/**
 * What the demo has started, stopped in reverse order. Every step runs even
 * when an earlier one fails (a failure is reported, not thrown), so a
 * failed or interrupted demo still stops every process it started.
 */
export class Teardown {
  readonly #steps: Array<{ readonly what: string; readonly run: () => Promise<void> }> = [];

  /** Registers `run` to undo something just done. */
  add(what: string, run: () => Promise<void>): void {
    this.#steps.push({ what, run });
  }

  /** Runs every registered step, newest first; returns the failures as messages. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    for (let step = this.#steps.pop(); step !== undefined; step = this.#steps.pop()) {
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.what}: ${(err as Error).message}`);
      }
    }
    return failures;
  }
}
