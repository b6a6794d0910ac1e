import { hash } from 'node:crypto';
import type { ImaEntry } from '@vigil/evidence';

/** Banks a measurement log can be replayed into, with their digest sizes. */
export const REPLAY_BANKS = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;
export type ReplayBank = keyof typeof REPLAY_BANKS;

export function isReplayBank(name: string): name is ReplayBank {
  return Object.hasOwn(REPLAY_BANKS, name);
}

/**
 * The digest an IMA-style entry extends into a bank, as the kernel computes
 * it (security/integrity/ima/ima_queue.c, ima_crypto.c): the SHA-1 bank gets
 * the logged template hash, other banks the template data hashed with their
 * own algorithm, and a violation extends all ones in every bank. The model
 * log uses the same rule. Undefined when the entry carries no template data
 * to rehash (an unknown ASCII template): that bank cannot be replayed.
 */
export function extendedDigest(entry: ImaEntry, bank: ReplayBank): Uint8Array | undefined {
  if (entry.violation) return new Uint8Array(REPLAY_BANKS[bank]).fill(0xff);
  if (bank === 'sha1') return entry.templateHash.length === 20 ? entry.templateHash : undefined;
  return entry.templateData === null ? undefined : hash(bank, entry.templateData, 'buffer');
}

export interface ChainReplay {
  /**
   * How many of the entries (0..n) bring the PCR to the quoted value in every
   * quoted bank, or -1 if no prefix does. The log may be read after the
   * quote, so it may hold entries the quote does not cover yet; they are left
   * for the next attestation.
   */
  readonly matchedAt: number;
  /** Values after `matchedAt` entries, or after all of them when nothing matched. */
  readonly values: ReadonlyMap<ReplayBank, Uint8Array>;
  /** Banks that could not be replayed (no template data to rehash). */
  readonly unreplayable: readonly ReplayBank[];
}

/**
 * Replays `entries` onto `start` (PCR values per bank before them; a missing
 * bank starts at zero) and finds the prefix that matches `quoted`, the
 * values the quote signed for this PCR (TPM 2.0 Part 1 §17.6: extend is
 * PCR := H(PCR || digest)). Yields to nothing: callers chunk big logs.
 */
export function replayChain(
  start: ReadonlyMap<ReplayBank, Uint8Array>,
  entries: readonly ImaEntry[],
  quoted: ReadonlyMap<ReplayBank, Uint8Array>,
): ChainReplay {
  const banks = [...quoted.keys()];
  const values = new Map<ReplayBank, Uint8Array>();
  for (const b of banks) values.set(b, start.get(b) ?? new Uint8Array(REPLAY_BANKS[b]));
  const matches = (): boolean => banks.every((b) => Buffer.compare(values.get(b)!, quoted.get(b)!) === 0);
  if (matches()) return { matchedAt: 0, values: new Map(values), unreplayable: [] };
  const unreplayable = new Set<ReplayBank>();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    for (const b of banks) {
      const d = extendedDigest(e, b);
      if (d === undefined) {
        unreplayable.add(b);
        continue;
      }
      values.set(b, hash(b, Buffer.concat([values.get(b)!, d]), 'buffer'));
    }
    if (unreplayable.size === 0 && matches()) return { matchedAt: i + 1, values, unreplayable: [] };
  }
  return { matchedAt: -1, values, unreplayable: [...unreplayable] };
}
