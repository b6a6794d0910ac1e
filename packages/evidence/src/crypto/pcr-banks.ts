import { toHex } from '../binary/bytes.js';
import { bankName, canHash, digest, hashAlgorithmById } from './hash-algorithms.js';

/** PCR values by bank name, then PCR index, as lowercase hex: the shape of the fixtures' expected files. */
export type PcrValuesJson = Record<string, Record<string, string>>;

/**
 * Software PCRs for replaying logs. A PCR appears only once something was
 * extended into it (TPM 2.0 Part 1, 17.6: PCR_Extend sets it to
 * H(old || digest)); it starts at zero, except PCR 0 after `startupLocality`.
 */
export class PcrBanks {
  readonly #banks = new Map<number, Map<number, Uint8Array>>();
  readonly #unsupported = new Set<number>();
  #pcr0Locality = 0;
  #pcr0Extended = false;

  /**
   * TPM2_Startup from locality 3 or 4 resets PCR 0 to 0...03 / 0...04 instead
   * of zero (PFP 1.05, 10.4.5.3: the StartupLocality event records it). Only
   * meaningful before PCR 0 is first extended; ignored afterwards.
   */
  startupLocality(locality: number): void {
    if (!this.#pcr0Extended) this.#pcr0Locality = locality;
  }

  /** Whether the PCR has been extended at least once in this bank. */
  isExtended(algorithmId: number, pcrIndex: number): boolean {
    return this.#banks.get(algorithmId)?.has(pcrIndex) ?? false;
  }

  extend(algorithmId: number, pcrIndex: number, value: Uint8Array): void {
    if (!canHash(algorithmId)) {
      this.#unsupported.add(algorithmId);
      return;
    }
    let bank = this.#banks.get(algorithmId);
    if (!bank) this.#banks.set(algorithmId, (bank = new Map()));
    let old = bank.get(pcrIndex);
    if (!old) {
      old = new Uint8Array(hashAlgorithmById(algorithmId)!.size);
      if (pcrIndex === 0) old[old.length - 1] = this.#pcr0Locality;
    }
    if (pcrIndex === 0) this.#pcr0Extended = true;
    bank.set(pcrIndex, digest(algorithmId, old, value));
  }

  /** The value of one PCR, or undefined if nothing was extended into it. */
  get(algorithmId: number, pcrIndex: number): Uint8Array | undefined {
    return this.#banks.get(algorithmId)?.get(pcrIndex);
  }

  /** Algorithms whose digests were seen but that this Node build cannot compute: their banks are left out. */
  get unsupportedAlgorithms(): number[] {
    return [...this.#unsupported];
  }

  /** Bank name -> PCR index -> value. */
  toMap(): Map<string, Map<number, Uint8Array>> {
    const out = new Map<string, Map<number, Uint8Array>>();
    for (const [alg, bank] of [...this.#banks].sort((a, b) => a[0] - b[0])) {
      out.set(bankName(alg), new Map([...bank].sort((a, b) => a[0] - b[0])));
    }
    return out;
  }

  toJSON(): PcrValuesJson {
    const out: PcrValuesJson = {};
    for (const [name, bank] of this.toMap()) {
      const values: Record<string, string> = {};
      for (const [index, value] of bank) values[String(index)] = toHex(value);
      out[name] = values;
    }
    return out;
  }
}
