/**
 * A realistic boot for a software TPM. swtpm, like a real TPM, keeps no
 * event log: a swtpm "device" comes up with PCRs 0-9 all zero. This replays
 * a recorded firmware event log into it — every event's digest PCR_Extended
 * into its PCR in every bank the TPM has allocated, EV_NO_ACTION skipped, as
 * the firmware did on the machine that recorded it — so that the log file
 * the agent then sends replays to the PCRs the TPM quotes, and the whole
 * boot path (log replay = quote, secure boot state, policy) runs for real.
 * A PCR_Extend the log does not show is then exactly "a PCR extended outside
 * the log".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventType, parseEventLog } from '@vigil/evidence';
import { getPcrBanks, PCR_Extend, type CommandRunner } from '@vigil/tpm2-ts';

export const FIXTURE_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'eventlogs');

/** A crypto-agile log (SHA-1, SHA-256, SHA-384) from a GCE VM: PCRs 0-9 and 14, two boot applications, no StartupLocality. */
export const BOOT_FIXTURE = join(FIXTURE_DIR, 'go-attestation-ubuntu-2104-gce.bin');

export async function readFixture(path = BOOT_FIXTURE): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/** Extends every event of `log` into the TPM, in every allocated bank the log has a digest for. Returns the events extended. */
export async function replayBootLogIntoTpm(tpm: CommandRunner, log: Uint8Array): Promise<number> {
  const allocated = new Set((await getPcrBanks(tpm)).map((b) => b.hashAlg));
  let extended = 0;
  for (const e of parseEventLog(log).events) {
    if (e.eventType === EventType.EV_NO_ACTION) continue;
    const digests = e.digests.filter((d) => allocated.has(d.algorithmId)).map((d) => ({ hashAlg: d.algorithmId, digest: d.digest }));
    if (digests.length === 0) continue;
    await tpm.execute(PCR_Extend, { pcrHandle: e.pcrIndex, digests });
    extended++;
  }
  return extended;
}
