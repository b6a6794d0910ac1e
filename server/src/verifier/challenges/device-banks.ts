import { HASH_ALGORITHMS, type HashAlgorithm, type PcrSelection } from '@vigil/protocol/core';
import type { Device } from '../../store/index.js';

/**
 * The PCR banks the device's TPM has allocated, as its agent reported them
 * at enrollment (`facts.tpm.pcrBanks`); undefined when it did not say
 * (agents from before the field). Facts are not trusted for decisions, and
 * this is none: it only spares the device a request it cannot meet. A
 * device that hid a bank it has would only get that bank's golden values
 * reported `pcr-bank-unavailable`, never a pass.
 */
export function deviceBanks(device: Pick<Device, 'facts'>): ReadonlySet<HashAlgorithm> | undefined {
  const reported: unknown = (device.facts.tpm as { pcrBanks?: unknown } | undefined)?.pcrBanks;
  if (!Array.isArray(reported)) return undefined;
  return new Set(HASH_ALGORITHMS.filter((bank) => reported.includes(bank)));
}

/**
 * What to ask the device to quote: the policy's selection without the banks
 * its TPM lacks (asking for them made the quote fail on the device, and the
 * challenge went unanswered). When nothing of the selection is left, or the
 * banks are unknown, the whole selection: the agent quotes what it has and
 * the verdict names the rest.
 */
export function selectionForDevice(selection: PcrSelection, device: Pick<Device, 'facts'>): PcrSelection {
  const banks = deviceBanks(device);
  if (banks === undefined) return selection;
  const kept: { -readonly [B in HashAlgorithm]?: readonly number[] } = {};
  for (const bank of HASH_ALGORITHMS) {
    const pcrs = selection[bank];
    if (pcrs !== undefined && banks.has(bank)) kept[bank] = pcrs;
  }
  return Object.keys(kept).length > 0 ? (kept as PcrSelection) : selection;
}
