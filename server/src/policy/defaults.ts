import type { PcrSelection } from '@vigil/protocol/core';
import { DEFAULT_MODEL_PCR } from '@vigil/evidence';
import type { Submodule } from '@vigil/protocol/core';
import { BANKS, type Disposition, type PolicyDocument } from './schema.js';

export { DEFAULT_MODEL_PCR };

/**
 * The PCRs quoted when no policy says otherwise: SHA-256 PCRs 0-9 (firmware,
 * boot loader: what the boot event log records), 14 (shim's MOK lists) and
 * the model PCR. PCR 10 (IMA) is quoted only when a policy selects it.
 */
export function defaultPcrSelection(modelPcr = DEFAULT_MODEL_PCR): PcrSelection {
  return { sha256: [...new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, modelPcr])].sort((a, b) => a - b) };
}

/** The model PCR a policy names, else 13. */
export function modelPcrOf(doc: PolicyDocument | undefined): number {
  return doc?.models?.pcr ?? DEFAULT_MODEL_PCR;
}

/**
 * What a challenge asks to quote: the policy's selection (or the default),
 * plus every PCR the policy has golden values for, plus the model PCR, so
 * that nothing the policy appraises goes unquoted.
 */
export function effectiveSelection(doc: PolicyDocument | undefined): PcrSelection {
  const modelPcr = modelPcrOf(doc);
  const base = doc?.pcrSelection ?? defaultPcrSelection(modelPcr);
  const out: Record<string, Set<number>> = {};
  for (const bank of BANKS) {
    const list = base[bank];
    if (list !== undefined) out[bank] = new Set(list);
  }
  for (const bank of BANKS) {
    const golden = doc?.pcrs?.[bank];
    if (golden === undefined) continue;
    const set = (out[bank] ??= new Set());
    for (const key of Object.keys(golden)) set.add(Number(key));
  }
  // The model log is replayed in the SHA-256 bank (and SHA-1), so the model PCR must be quoted in one of them.
  if (!(out['sha256']?.has(modelPcr) ?? false) && !(out['sha1']?.has(modelPcr) ?? false)) (out['sha256'] ??= new Set()).add(modelPcr);
  const selection: Record<string, number[]> = {};
  for (const [bank, set] of Object.entries(out)) if (set.size > 0) selection[bank] = [...set].sort((a, b) => a - b);
  return selection as PcrSelection;
}

/** Whether a failure of `submodule` contraindicates (the default) or only warns. Identity failures always contraindicate. */
export function dispositionOf(doc: PolicyDocument | undefined, submodule: Submodule): Disposition {
  if (submodule === 'identity') return 'contraindicated';
  return doc?.onFailure?.[submodule] ?? 'contraindicated';
}
