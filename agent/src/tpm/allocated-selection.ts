import { type CommandRunner, getPcrBanks, hashAlgorithm, type PcrSelection } from '@vigil/tpm2-ts';

/** The part of a PCR selection this TPM can quote, and the banks it cannot. */
export interface AllocatedSelection {
  readonly selection: readonly PcrSelection[];
  /** Requested banks left out (by name, e.g. `sha384`): the TPM has not allocated them, or not every requested PCR in them. */
  readonly unallocated: readonly string[];
}

/**
 * Cuts `selection` down to the banks this TPM has allocated (TPM_CAP_PCRS,
 * Part 3 §30.2). A whole bank goes when any PCR asked of it is missing, so
 * the verifier sees a bank either quoted as asked or absent, and names the
 * absent one (`pcr-bank-unavailable`); a partly quoted bank would be a
 * selection mismatch. Without this the quote's PCR read fails
 * (`PcrNotAllocatedError`) and the challenge is never answered.
 */
export async function allocatedSelection(tpm: CommandRunner, selection: readonly PcrSelection[]): Promise<AllocatedSelection> {
  const allocated = new Map((await getPcrBanks(tpm)).map((b) => [b.hashAlg, new Set(b.pcrs)]));
  const kept: PcrSelection[] = [];
  const unallocated: string[] = [];
  for (const s of selection) {
    const pcrs = allocated.get(s.hashAlg);
    if (pcrs !== undefined && s.pcrs.every((p) => pcrs.has(p))) kept.push(s);
    else unallocated.push(hashAlgorithm(s.hashAlg)?.name ?? `0x${s.hashAlg.toString(16)}`);
  }
  return { selection: kept, unallocated };
}
