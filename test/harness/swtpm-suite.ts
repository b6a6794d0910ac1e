import { afterAll, beforeAll } from 'vitest';
import type { Tpm } from '@vigil/tpm2-ts';
import { startSwtpm, type SwtpmInstance, type SwtpmOptions } from './swtpm.js';

/** A swtpm and a client connected to it, for the tests of one suite. */
export interface SwtpmSuite {
  readonly sim: SwtpmInstance;
  readonly tpm: Tpm;
}

/**
 * Starts a swtpm with a connected client before the tests of the enclosing
 * `describe` (or file), hands both to `bind`, and closes the client and
 * stops the simulator after them.
 */
export function useSwtpm(bind: (suite: SwtpmSuite) => void, options: SwtpmOptions = {}): void {
  let suite: SwtpmSuite | undefined;
  beforeAll(async () => {
    const sim = await startSwtpm(options);
    suite = { sim, tpm: sim.connect() };
    bind(suite);
  });
  afterAll(async () => {
    await suite?.tpm.close();
    await suite?.sim.stop();
  });
}
