/**
 * Runs an idempotent job ("make the CRL file match the store", "hand the
 * broker the CRL as it is now") one pass at a time. A request that arrives
 * while a pass runs is served by one more pass after it, shared by every
 * request that arrived meanwhile: a burst of requests costs two passes, not
 * one each, and no request is answered by a pass that started before it
 * (that pass may have read the state from before the request).
 */
export class CoalescedTask {
  #running: Promise<void> | undefined;
  #again = false;

  constructor(private readonly pass: () => Promise<void>) {}

  /**
   * Resolves once a pass that started after this call has finished. Rejects
   * with a pass's error; the passes it would have chained are not run (the
   * next request starts afresh).
   */
  async run(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      // The running loop sees #again and makes one more pass before it settles.
      await this.#running;
      // That loop settled, and a request made after it may have started a new one: ours is covered either way.
      if (this.#running !== undefined) await this.#running;
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    await this.#running;
  }

  /** Resolves when no pass is running; never rejects. */
  async settled(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      await this.pass();
    } while (this.#again);
  }
}
