import type { PcrValues } from '@vigil/protocol';
import type { NewDeviceLogState } from '../../store/index.js';

/** Whether two log states say the same (entries, values, boot, verified PCRs). */
export function sameLogState(a: NewDeviceLogState, b: NewDeviceLogState): boolean {
  return (
    a.resetCount === b.resetCount &&
    a.bootLogDigest === b.bootLogDigest &&
    a.ima.entries === b.ima.entries &&
    a.model.entries === b.model.entries &&
    a.model.measurements.length === b.model.measurements.length &&
    samePcrs(a.ima.pcrs, b.ima.pcrs) &&
    samePcrs(a.model.pcrs, b.model.pcrs) &&
    (a.verifiedPcrs === b.verifiedPcrs || (a.verifiedPcrs !== null && b.verifiedPcrs !== null && samePcrs(a.verifiedPcrs, b.verifiedPcrs)))
  );
}

/**
 * Whether two sets of PCR values are the same, bank by bank and PCR by PCR,
 * as they are stored (JSON: a bank with no values object is absent).
 * Without allocating (no key arrays, no closures): it runs for every verdict.
 */
export function samePcrs(a: PcrValues, b: PcrValues): boolean {
  if (a === b) return true;
  const x = a as Readonly<Record<string, Readonly<Record<string, string>> | undefined>>;
  const y = b as Readonly<Record<string, Readonly<Record<string, string>> | undefined>>;
  let banks = 0;
  for (const bank in x) {
    const xs = x[bank];
    if (xs === undefined) continue;
    banks++;
    const ys = y[bank];
    if (ys === undefined || (xs !== ys && !sameValues(xs, ys))) return false;
  }
  return banks === banksIn(y);
}

function sameValues(x: Readonly<Record<string, string>>, y: Readonly<Record<string, string>>): boolean {
  let n = 0;
  for (const pcr in x) {
    if (x[pcr] !== y[pcr]) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}

function banksIn(pcrs: Readonly<Record<string, unknown>>): number {
  let n = 0;
  for (const bank in pcrs) if (pcrs[bank] !== undefined) n++;
  return n;
}
