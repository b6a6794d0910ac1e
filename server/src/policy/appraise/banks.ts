import type { PcrValues, VerdictReason } from '@vigil/protocol/core';
import type { PreparedPolicy } from '../prepared-policy.js';
import { BANKS } from '../schema.js';
import { reason } from './reason.js';

/**
 * The banks a policy needs (its PCR selection and every bank it has golden
 * values for) that the quote does not cover at all: the device's TPM has
 * not allocated them. One `pcr-bank-unavailable` reason per bank, naming the
 * PCRs the policy wanted there, so an operator who assigned a policy made on
 * another platform (a sha384 log imported from `tpm2_eventlog`) sees why at
 * once, instead of a device that never answers. `allocated` is what the
 * device reported at enrollment, if it did, for the message only.
 */
export function appraiseBanks(policy: PreparedPolicy, quoted: PcrValues, allocated: ReadonlySet<string> | undefined): VerdictReason[] {
  const out: VerdictReason[] = [];
  for (const bank of BANKS) {
    const wanted = new Set<number>(policy.selection[bank] ?? []);
    for (const pcr of policy.pcrs.get(bank)?.keys() ?? []) wanted.add(pcr);
    if (wanted.size === 0 || quoted[bank] !== undefined) continue;
    const golden = policy.pcrs.has(bank) ? ' (with golden values)' : '';
    const has = allocated === undefined ? 'the quote has no such bank' : `the TPM allocates ${[...allocated].join(', ') || 'no bank the protocol names'}`;
    out.push(
      reason(
        'pcr-bank-unavailable',
        `the policy needs ${bank} PCRs ${[...wanted].sort((x, y) => x - y).join(', ')}${golden}, but this device's TPM has no ${bank} bank (${has}): assign a policy in the banks it has, or allocate the bank (tpm2_pcrallocate)`,
        { bank },
      ),
    );
  }
  return out;
}

