/**
 * Straightforward reference folds, written independently of the package's
 * replay code: the property tests check the package against these.
 */
import { createHash } from 'node:crypto';

export const ALGS = {
  0x0004: { name: 'sha1', node: 'sha1', size: 20 },
  0x000b: { name: 'sha256', node: 'sha256', size: 32 },
  0x000c: { name: 'sha384', node: 'sha384', size: 48 },
  0x000d: { name: 'sha512', node: 'sha512', size: 64 },
} as const;
export type AlgId = keyof typeof ALGS;
export const ALG_IDS = Object.keys(ALGS).map(Number) as AlgId[];

export interface RefEvent {
  readonly pcrIndex: number;
  readonly eventType: number;
  readonly digests: readonly { readonly algorithmId: number; readonly digest: Uint8Array }[];
  readonly data: Uint8Array;
}

const STARTUP_LOCALITY = Buffer.from('StartupLocality\0', 'latin1');

/** PCR values after `events`, as bank -> index -> hex, PFP replay rules. */
export function referenceEventLogReplay(events: readonly RefEvent[]): Record<string, Record<string, string>> {
  const banks = new Map<number, Map<number, Buffer>>();
  let locality = 0;
  let pcr0Touched = false;
  for (const e of events) {
    if (e.eventType === 0x3) {
      const d = Buffer.from(e.data);
      if (e.pcrIndex === 0 && d.length === 17 && d.subarray(0, 16).equals(STARTUP_LOCALITY) && !pcr0Touched) locality = d[16]!;
      continue;
    }
    for (const { algorithmId, digest } of e.digests) {
      const alg = ALGS[algorithmId as AlgId];
      let bank = banks.get(algorithmId);
      if (!bank) banks.set(algorithmId, (bank = new Map()));
      let old = bank.get(e.pcrIndex);
      if (!old) {
        old = Buffer.alloc(alg.size);
        if (e.pcrIndex === 0) old[alg.size - 1] = locality;
      }
      if (e.pcrIndex === 0) pcr0Touched = true;
      bank.set(e.pcrIndex, createHash(alg.node).update(old).update(digest).digest());
    }
  }
  const out: Record<string, Record<string, string>> = {};
  for (const [alg, bank] of banks) {
    out[ALGS[alg as AlgId].name] = Object.fromEntries([...bank].map(([i, v]) => [String(i), v.toString('hex')]));
  }
  return out;
}

/** IMA: SHA-1 bank extends the template hash, SHA-256 bank SHA-256(template data); violations extend all ones. */
export function referenceImaReplay(
  entries: readonly { pcr: number; templateHash: Uint8Array; templateData: Uint8Array }[],
): Record<string, Record<string, string>> {
  const out: Record<string, Map<number, Buffer>> = { sha1: new Map(), sha256: new Map() };
  for (const e of entries) {
    const violation = e.templateHash.every((b) => b === 0);
    const add = {
      sha1: violation ? Buffer.alloc(20, 0xff) : Buffer.from(e.templateHash),
      sha256: violation ? Buffer.alloc(32, 0xff) : createHash('sha256').update(e.templateData).digest(),
    };
    for (const bank of ['sha1', 'sha256'] as const) {
      const old = out[bank]!.get(e.pcr) ?? Buffer.alloc(bank === 'sha1' ? 20 : 32);
      out[bank]!.set(e.pcr, createHash(bank).update(old).update(add[bank]).digest());
    }
  }
  const json: Record<string, Record<string, string>> = {};
  for (const [bank, m] of Object.entries(out)) {
    if (m.size > 0) json[bank] = Object.fromEntries([...m].map(([i, v]) => [String(i), v.toString('hex')]));
  }
  return json;
}
