import { hashAlgorithm, hashAlgorithmByName } from '../constants/alg.js';
import type { TpmlPcrSelection } from '../structures/basic.js';

/** One bank's part of a PCR selection: a hash algorithm and PCR indices. */
export interface PcrSelection {
  readonly hashAlg: number;
  readonly pcrs: readonly number[];
}

/** PCR values by bank (TPM_ALG_ID) then PCR index. */
export type PcrValues = ReadonlyMap<number, ReadonlyMap<number, Uint8Array>>;

/** A PCR selection string could not be parsed. */
export class PcrSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PcrSelectionError';
  }
}

/** PCR indices a TPMS_PCR_SELECTION bitmap can name: PCR_SELECT_MAX (4 bytes) * 8. */
export const MAX_PCR_INDEX = 31;

/**
 * Parses the selection syntax tpm2-tools uses: banks separated by `+`, each
 * `alg:i,j,k` (e.g. `sha256:0,1,2,7+sha1:0`). Algorithms by name (`sha256`)
 * or number (`0xb`). Duplicate indices collapse; indices come out sorted.
 */
export function parsePcrSelection(text: string): PcrSelection[] {
  if (text.trim() === '') throw new PcrSelectionError('empty PCR selection');
  const out: PcrSelection[] = [];
  for (const part of text.split('+')) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*:\s*([0-9,\s]+)$/.exec(part);
    if (!m) throw new PcrSelectionError(`'${part}' is not of the form alg:i,j,k`);
    const algText = m[1]!;
    const hash = /^(0x[0-9a-f]+|\d+)$/i.test(algText) ? hashAlgorithm(Number(algText)) : hashAlgorithmByName(algText);
    if (!hash) throw new PcrSelectionError(`'${algText}' is not a hash algorithm`);
    if (out.some((s) => s.hashAlg === hash.alg)) throw new PcrSelectionError(`bank ${hash.name} appears twice`);
    const pcrs = new Set<number>();
    for (const p of m[2]!.split(',')) {
      const t = p.trim();
      if (!/^\d{1,2}$/.test(t) || Number(t) > MAX_PCR_INDEX) throw new PcrSelectionError(`'${t}' is not a PCR index 0..${MAX_PCR_INDEX}`);
      pcrs.add(Number(t));
    }
    out.push({ hashAlg: hash.alg, pcrs: [...pcrs].sort((a, b) => a - b) });
  }
  return out;
}

/** `sha256:0,1,2,7+sha1:0`. */
export function formatPcrSelection(selection: readonly PcrSelection[]): string {
  return selection.map((s) => `${hashAlgorithm(s.hashAlg)?.name ?? `0x${s.hashAlg.toString(16)}`}:${s.pcrs.join(',')}`).join('+');
}

/**
 * The TPML_PCR_SELECTION for a selection. sizeofSelect is at least
 * PCR_SELECT_MIN (3: 24 PCRs, PC Client TPMs) and grows if an index needs it.
 */
export function toTpmlPcrSelection(selection: readonly PcrSelection[], minSelectSize = 3): TpmlPcrSelection {
  return selection.map((s) => {
    const highest = s.pcrs.reduce((m, p) => Math.max(m, p), -1);
    const bytes = new Uint8Array(Math.max(minSelectSize, Math.floor(highest / 8) + 1));
    for (const p of s.pcrs) {
      if (!Number.isInteger(p) || p < 0 || p > MAX_PCR_INDEX) throw new PcrSelectionError(`PCR index ${p} out of range`);
      bytes[p >> 3]! |= 1 << (p & 7);
    }
    return { hash: s.hashAlg, pcrSelect: bytes };
  });
}

/** The selection a TPML_PCR_SELECTION describes (banks with no PCR selected are kept, with an empty list). */
export function fromTpmlPcrSelection(tpml: TpmlPcrSelection): PcrSelection[] {
  return tpml.map((s) => {
    const pcrs: number[] = [];
    s.pcrSelect.forEach((byte, i) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(i * 8 + bit);
    });
    return { hashAlg: s.hash, pcrs };
  });
}

/**
 * The selected PCR values in the order the TPM concatenates them for a
 * quote's pcrDigest and for PolicyPCR: banks in the order the
 * TPML_PCR_SELECTION lists them, PCRs in ascending index order within each
 * (Part 3 §18.4 Quote, §23.7 PolicyPCR; PCRComputeCurrentDigest in Part 4).
 * Throws if a selected value is missing.
 */
export function valuesInSelectionOrder(selection: readonly PcrSelection[], values: PcrValues): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of selection) {
    const bank = values.get(s.hashAlg);
    for (const p of [...s.pcrs].sort((a, b) => a - b)) {
      const v = bank?.get(p);
      if (!v) throw new PcrSelectionError(`no value for ${hashAlgorithm(s.hashAlg)?.name ?? s.hashAlg}:${p}`);
      out.push(v);
    }
  }
  return out;
}
