/**
 * A device's boot, for simulated TPMs: a recorded TCG PC Client event log
 * (by default the crypto-agile log of an Ubuntu 21.04 GCE VM that the demo
 * ships, `server/src/demo/fixtures/`), the digests its events extended, and
 * the log as the agent sends it (SHA-256 of the raw bytes; gzip where it
 * pays, `agent/src/attestation/blob.ts`). Replaying it into a
 * `SoftwareTpm` does what the firmware did: every event's digest extended
 * into its PCR in each bank, EV_NO_ACTION never (TCG PFP §10.4.5), so the
 * log replays exactly to the PCRs the simulated TPM quotes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { EventType, parseEventLog } from '@vigil/evidence';
import type { Blob } from '@vigil/protocol';
import { getPcrBanks, hashAlgorithm, PCR_Extend, TPM_ALG, type CommandRunner } from '@vigil/tpm2-ts';
import { SIM_BANKS, type SimBank, type SoftwareTpm } from './software-tpm.js';

/** The demo's copy of a public firmware log (attribution in its README). */
export const DEFAULT_BOOT_LOG = fileURLToPath(new URL('../../../server/src/demo/fixtures/ubuntu-2104-gce.binary_bios_measurements', import.meta.url));

interface Extension {
  readonly pcr: number;
  readonly digests: Partial<Record<SimBank, Uint8Array>>;
}

export class BootImage {
  /** SHA-256 of the raw log, hex: what `offsets.bootLogDigest` names. */
  readonly digest: string;
  /** The log as evidence carries it in full. */
  readonly blob: Blob;
  readonly events: number;
  readonly #extensions: readonly Extension[];

  private constructor(readonly bytes: Uint8Array) {
    this.digest = createHash('sha256').update(bytes).digest('hex');
    const gz = gzipSync(bytes, { level: 6 });
    this.blob = gz.length < bytes.length * 0.9 ? { encoding: 'gzip', data: gz.toString('base64') } : { encoding: 'identity', data: Buffer.from(bytes).toString('base64') };
    const extensions: Extension[] = [];
    const log = parseEventLog(bytes);
    for (const e of log.events) {
      if (e.eventType === EventType.EV_NO_ACTION) continue;
      const digests: Partial<Record<SimBank, Uint8Array>> = {};
      for (const d of e.digests) {
        const name = hashAlgorithm(d.algorithmId)?.name;
        if (name !== undefined && name in SIM_BANKS) digests[name as SimBank] = d.digest;
      }
      extensions.push({ pcr: e.pcrIndex, digests });
    }
    this.events = log.events.length;
    this.#extensions = extensions;
  }

  static fromBytes(bytes: Uint8Array): BootImage {
    return new BootImage(bytes);
  }

  /** Reads a binary event log (default: the demo's GCE fixture). */
  static load(path = DEFAULT_BOOT_LOG): BootImage {
    return new BootImage(new Uint8Array(readFileSync(path)));
  }

  /** Extends every measured event into `tpm`, as firmware does from power-on. */
  replayInto(tpm: SoftwareTpm): void {
    for (const x of this.#extensions) tpm.extend(x.pcr, x.digests);
  }

  /**
   * The same boot on a real TPM (swtpm): TPM2_PCR_Extend of each event's
   * digests into the banks the TPM has allocated. swtpm keeps no event log
   * of its own, so afterwards this log is the one that replays to its PCRs.
   */
  async replayIntoTpm(tpm: CommandRunner): Promise<number> {
    const allocated = new Set((await getPcrBanks(tpm)).map((b) => b.hashAlg));
    const algOf: Record<SimBank, number> = { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384 };
    let extended = 0;
    for (const x of this.#extensions) {
      const digests = (Object.entries(x.digests) as Array<[SimBank, Uint8Array]>).filter(([bank]) => allocated.has(algOf[bank])).map(([bank, digest]) => ({ hashAlg: algOf[bank], digest }));
      if (digests.length === 0) continue;
      await tpm.execute(PCR_Extend, { pcrHandle: x.pcr, digests });
      extended++;
    }
    return extended;
  }
}
