import { hashAlgorithm, hashAlgorithmByName } from '../constants/alg.js';
import { MAX_PCR_INDEX, PcrSelectionError, type PcrSelection, type PcrValues } from '../pcrs/selection.js';

/**
 * PCR values as JSON documents carry them: bank name, then PCR index, then
 * the value in hex, e.g. `{ "sha256": { "0": "3d45...", "7": "65ca..." } }`.
 */
export type PcrValuesJson = Readonly<Record<string, Readonly<Record<string, string>>>>;

const HEX = /^(?:[0-9a-f]{2})*$/i;

/**
 * Reads `{ bank: { index: hex } }` into PcrValues, checking every bank name,
 * index (0..31) and that each value is exactly the bank's digest size.
 * Throws PcrSelectionError naming the offending entry.
 */
export function pcrValuesFromJson(json: unknown): PcrValues {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PcrSelectionError('PCR values must be an object of banks');
  const out = new Map<number, Map<number, Uint8Array>>();
  for (const [bankName, bank] of Object.entries(json)) {
    const hash = hashAlgorithmByName(bankName);
    if (!hash) throw new PcrSelectionError(`'${bankName}' is not a PCR bank (hash algorithm)`);
    if (out.has(hash.alg)) throw new PcrSelectionError(`bank ${hash.name} appears twice`);
    if (typeof bank !== 'object' || bank === null || Array.isArray(bank)) throw new PcrSelectionError(`bank ${hash.name} must be an object of PCR index to hex value`);
    const values = new Map<number, Uint8Array>();
    for (const [index, value] of Object.entries(bank as Record<string, unknown>)) {
      if (!/^\d{1,2}$/.test(index) || Number(index) > MAX_PCR_INDEX) throw new PcrSelectionError(`${hash.name}: '${index}' is not a PCR index 0..${MAX_PCR_INDEX}`);
      if (typeof value !== 'string' || !HEX.test(value.replace(/^0x/i, ''))) throw new PcrSelectionError(`${hash.name}:${index} is not a hex string`);
      const bytes = new Uint8Array(Buffer.from(value.replace(/^0x/i, ''), 'hex'));
      if (bytes.length !== hash.size) throw new PcrSelectionError(`${hash.name}:${index} is ${bytes.length} bytes, a ${hash.name} PCR holds ${hash.size}`);
      values.set(Number(index), bytes);
    }
    out.set(hash.alg, values);
  }
  return out;
}

/** PcrValues as `{ bank: { index: hex } }`, banks and indices in ascending order. */
export function pcrValuesToJson(values: PcrValues): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const alg of [...values.keys()].sort((a, b) => a - b)) {
    const bank = values.get(alg)!;
    const name = hashAlgorithm(alg)?.name ?? `0x${alg.toString(16)}`;
    out[name] = Object.fromEntries([...bank.keys()].sort((a, b) => a - b).map((i) => [String(i), Buffer.from(bank.get(i)!).toString('hex')]));
  }
  return out;
}

/** The selection that `values` covers: one entry per bank (in the map's order), indices ascending. */
export function selectionOfValues(values: PcrValues): PcrSelection[] {
  return [...values].map(([hashAlg, bank]) => ({ hashAlg, pcrs: [...bank.keys()].sort((a, b) => a - b) }));
}

/**
 * A selection as one 32-bit mask per bank (PCR indices are 0..31), banks
 * with nothing selected left out: cheap to build and compare on the quote
 * checking path, where string sets cost more than the rest of the PCR check.
 */
function masksOf(selection: readonly PcrSelection[]): Map<number, number> | undefined {
  const out = new Map<number, number>();
  for (const s of selection) {
    let m = out.get(s.hashAlg) ?? 0;
    for (const p of s.pcrs) {
      // An index no TPMS_PCR_SELECTION can hold never matches a quote.
      if (!Number.isInteger(p) || p < 0 || p > 31) return undefined;
      m = (m | (1 << p)) >>> 0;
    }
    if (m !== 0) out.set(s.hashAlg, m);
  }
  return out;
}

/**
 * Whether two selections name the same PCRs. Bank order and empty banks do
 * not matter here (they do for the digest, which always follows the quote's
 * own TPML_PCR_SELECTION).
 */
export function sameSelection(a: readonly PcrSelection[], b: readonly PcrSelection[]): boolean {
  const ma = masksOf(a);
  const mb = masksOf(b);
  if (!ma || !mb || ma.size !== mb.size) return false;
  for (const [alg, m] of ma) if (mb.get(alg) !== m) return false;
  return true;
}
