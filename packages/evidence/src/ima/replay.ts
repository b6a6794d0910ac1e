/**
 * IMA replay, as the kernel extends (security/integrity/ima/ima_queue.c,
 * ima_add_template_entry; ima_crypto.c, ima_calc_field_array_hash):
 * - each entry extends its PCR (10 by default, or the policy's `pcr=`);
 * - the SHA-1 bank gets the template hash (SHA-1 of the template data);
 *   every other bank gets the template data hashed with that bank's algorithm;
 * - a violation is logged with an all-zero template hash but extended as all
 *   ones, in every bank (ima_init_digests fills them with 0xff).
 * Entries the kernel refused as duplicates ("hash_exists") are not in the
 * list, so every listed entry is extended.
 */
import { bytesEqual } from '../binary/bytes.js';
import { canHash, digest, hashAlgorithmByName } from '../crypto/hash-algorithms.js';
import { PcrBanks } from '../crypto/pcr-banks.js';
import type { PcrValuesJson } from '../crypto/pcr-banks.js';
import type { ByteSource } from '../sources/byte-source.js';
import type { ImaEntry } from './entry.js';
import type { ImaReadOptions } from './read.js';
import { readImaLog } from './read.js';

export interface ImaReplayOptions {
  /** Banks to replay (default `sha1` and `sha256`). */
  readonly banks?: readonly string[];
  /** The algorithm of the logged template hash (default `sha1`). */
  readonly templateHashAlgorithm?: 'sha1' | 'sha256';
}

export interface ImaReplay {
  /** Bank name -> PCR -> value. A bank is missing if an entry's template data was unavailable for it. */
  readonly pcrs: ReadonlyMap<string, ReadonlyMap<number, Uint8Array>>;
  readonly entries: number;
  readonly violations: number;
  /**
   * Entries whose template data does not hash to the logged template hash:
   * their decoded fields (file digest, path) are not what was extended.
   * At most the first 100 indices.
   */
  readonly templateHashMismatches: readonly number[];
  /** Banks that could not be replayed: an unknown ASCII template gives no template data to rehash. */
  readonly incompleteBanks: readonly string[];
}

const MAX_MISMATCHES_LISTED = 100;

/** Folds IMA entries one at a time. */
export class ImaReplayer {
  readonly #banks = new PcrBanks();
  readonly #algs: { name: string; id: number; size: number }[];
  readonly #logAlg: { name: string; id: number };
  readonly #incomplete = new Set<string>();
  readonly #mismatches: number[] = [];
  #entries = 0;
  #violations = 0;

  constructor(options: ImaReplayOptions = {}) {
    this.#algs = (options.banks ?? ['sha1', 'sha256']).map((name) => {
      const a = hashAlgorithmByName(name);
      if (!a || !canHash(a.id)) throw new RangeError(`cannot replay IMA into a '${name}' bank`);
      return { name, id: a.id, size: a.size };
    });
    const log = hashAlgorithmByName(options.templateHashAlgorithm ?? 'sha1')!;
    this.#logAlg = { name: log.name, id: log.id };
  }

  add(e: ImaEntry): void {
    this.#entries++;
    if (e.violation) {
      this.#violations++;
      for (const a of this.#algs) this.#banks.extend(a.id, e.pcr, new Uint8Array(a.size).fill(0xff));
      return;
    }
    if (e.templateData && !bytesEqual(digest(this.#logAlg.id, e.templateData), e.templateHash)) {
      if (this.#mismatches.length < MAX_MISMATCHES_LISTED) this.#mismatches.push(e.index);
    }
    for (const a of this.#algs) {
      if (a.id === this.#logAlg.id) this.#banks.extend(a.id, e.pcr, e.templateHash);
      else if (e.templateData) this.#banks.extend(a.id, e.pcr, digest(a.id, e.templateData));
      else this.#incomplete.add(a.name);
    }
  }

  result(): ImaReplay {
    const pcrs = this.#banks.toMap();
    for (const bank of this.#incomplete) pcrs.delete(bank);
    return {
      pcrs,
      entries: this.#entries,
      violations: this.#violations,
      templateHashMismatches: [...this.#mismatches],
      incompleteBanks: [...this.#incomplete],
    };
  }
}

export function replayImaEntries(entries: Iterable<ImaEntry>, options: ImaReplayOptions = {}): ImaReplay {
  const r = new ImaReplayer(options);
  for (const e of entries) r.add(e);
  return r.result();
}

/** Streams a list from a file path, bytes or chunks and replays it without keeping its entries. */
export async function replayImaLog(source: ByteSource, options: ImaReplayOptions & ImaReadOptions = {}): Promise<ImaReplay> {
  const r = new ImaReplayer(options);
  for await (const e of readImaLog(source, options)) r.add(e);
  return r.result();
}

export function imaPcrsToJson(replay: Pick<ImaReplay, 'pcrs'>): PcrValuesJson {
  const out: PcrValuesJson = {};
  for (const [bank, values] of replay.pcrs) {
    out[bank] = Object.fromEntries([...values].map(([i, v]) => [String(i), Buffer.from(v).toString('hex')]));
  }
  return out;
}
