/**
 * A realistic boot for a software TPM in tests: a recorded firmware event
 * log replayed into swtpm's PCRs. The replay itself is product code (the
 * demo boots its devices the same way: `server/src/demo/fleet/boot-replay.ts`);
 * this adds the fixtures tests choose from.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export { replayBootLogIntoTpm } from '../../server/src/demo/fleet/boot-replay.js';

export const FIXTURE_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'eventlogs');

/** A crypto-agile log (SHA-1, SHA-256, SHA-384) from a GCE VM: PCRs 0-9 and 14, two boot applications, no StartupLocality. */
export const BOOT_FIXTURE = join(FIXTURE_DIR, 'go-attestation-ubuntu-2104-gce.bin');

export async function readFixture(path = BOOT_FIXTURE): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}
