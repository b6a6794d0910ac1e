import { PCR_Read } from '../commands/integrity.js';
import { hashAlgorithm } from '../constants/alg.js';
import { TpmProtocolError } from '../errors.js';
import type { CommandRunner } from '../tpm.js';
import { fromTpmlPcrSelection, type PcrSelection, type PcrValues, PcrSelectionError, toTpmlPcrSelection } from './selection.js';

/** PCR values read from a TPM with the update counter they are consistent with. */
export interface PcrReadResult {
  /** TPM2_PCR_Read's pcrUpdateCounter, the same for every chunk read. */
  readonly updateCounter: number;
  readonly values: PcrValues;
}

/** A PCR was requested that the TPM has not allocated. */
export class PcrNotAllocatedError extends Error {
  constructor(readonly missing: readonly PcrSelection[]) {
    super(`PCRs not allocated on this TPM: ${missing.map((s) => `${hashAlgorithm(s.hashAlg)?.name ?? s.hashAlg}:${s.pcrs.join(',')}`).join(' ')}`);
    this.name = 'PcrNotAllocatedError';
  }
}

/** TPM2_PCR_Read returns at most 8 digests (TPML_DIGEST's maximum) per call. */
const CHUNK = 8;
// PCRs can change between chunks; start over this many times before giving up.
const MAX_ATTEMPTS = 5;

/**
 * Reads any selection of PCRs, 8 at a time (Part 3 §22.4). The TPM reports
 * which PCRs each answer covers (pcrSelectionOut); the chunks must all carry
 * the same pcrUpdateCounter, or the read starts over, so the values are one
 * consistent snapshot. Unallocated PCRs raise PcrNotAllocatedError.
 */
export async function readPcrs(tpm: CommandRunner, selection: readonly PcrSelection[]): Promise<PcrReadResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await readOnce(tpm, selection);
    if (r) return r;
    if (attempt >= MAX_ATTEMPTS) throw new TpmProtocolError('TPM2_PCR_Read', `PCRs kept changing during ${MAX_ATTEMPTS} reads`);
  }
}

async function readOnce(tpm: CommandRunner, selection: readonly PcrSelection[]): Promise<PcrReadResult | undefined> {
  const values = new Map<number, Map<number, Uint8Array>>();
  let counter: number | undefined;
  for (const bank of selection) {
    const hash = hashAlgorithm(bank.hashAlg);
    if (!hash) throw new PcrSelectionError(`0x${bank.hashAlg.toString(16)} is not a hash algorithm`);
    const bankValues = values.get(bank.hashAlg) ?? new Map<number, Uint8Array>();
    values.set(bank.hashAlg, bankValues);
    const wanted = [...new Set(bank.pcrs)].sort((a, b) => a - b);
    for (let i = 0; i < wanted.length; i += CHUNK) {
      const chunk = wanted.slice(i, i + CHUNK);
      const r = await tpm.execute(PCR_Read, { pcrSelectionIn: toTpmlPcrSelection([{ hashAlg: bank.hashAlg, pcrs: chunk }]) });
      if (counter === undefined) counter = r.pcrUpdateCounter;
      else if (counter !== r.pcrUpdateCounter) return undefined;
      const got = fromTpmlPcrSelection(r.pcrSelectionOut).flatMap((s) => (s.hashAlg === bank.hashAlg ? s.pcrs : []));
      const unexpected = got.filter((p) => !chunk.includes(p));
      if (unexpected.length > 0 || fromTpmlPcrSelection(r.pcrSelectionOut).some((s) => s.hashAlg !== bank.hashAlg && s.pcrs.length > 0)) {
        throw new TpmProtocolError('TPM2_PCR_Read', 'the TPM returned PCRs that were not requested');
      }
      if (got.length !== r.pcrValues.length) {
        throw new TpmProtocolError('TPM2_PCR_Read', `pcrSelectionOut names ${got.length} PCRs but ${r.pcrValues.length} values came back`);
      }
      got.forEach((p, k) => {
        const v = r.pcrValues[k]!;
        if (v.length !== hash.size) throw new TpmProtocolError('TPM2_PCR_Read', `${hash.name} PCR ${p} value is ${v.length} bytes`);
        bankValues.set(p, v);
      });
      const missing = chunk.filter((p) => !got.includes(p));
      if (missing.length > 0) throw new PcrNotAllocatedError([{ hashAlg: bank.hashAlg, pcrs: missing }]);
    }
  }
  return { updateCounter: counter ?? 0, values };
}
