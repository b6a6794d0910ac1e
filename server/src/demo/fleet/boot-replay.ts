import { EventType, parseEventLog } from '@vigil/evidence';
import { getPcrBanks, PCR_Extend, type CommandRunner } from '@vigil/tpm2-ts';

/**
 * A realistic boot for a software TPM. swtpm, like a real TPM, keeps no
 * event log: it comes up with PCRs 0-9 all zero. This does what the firmware
 * did on the machine that recorded `log`: every event's digest is
 * PCR_Extended into its PCR in every bank the TPM has allocated, and
 * EV_NO_ACTION events are skipped (TCG PC Client Platform Firmware Profile
 * §10.4.5: they are never extended). Afterwards the log replays to the PCRs
 * the TPM quotes, so the whole boot path (log replay = quote, secure boot
 * state, golden values) runs for real. A StartupLocality event cannot be
 * reproduced this way (it sets PCR 0's initial value, only at TPM2_Startup),
 * so a log with one would not replay: the demo's log has none.
 *
 * Returns the number of events extended.
 */
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
