import { PolicyError } from '../errors.js';
import { BANKS, type PolicyDocument } from '../schema.js';

const DIGEST_SIZES: Readonly<Record<string, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/**
 * Golden PCR values from `vigil-agent eventlog replay --json` output:
 * `{"format": "crypto-agile", "pcrs": {"sha256": {"0": "<hex>", ...}}}`.
 * Every bank and PCR the replay computed becomes a golden value.
 */
export function policyFromReplay(text: string, options: { description?: string } = {}): PolicyDocument {
  if (text.length > 16 * 1024 * 1024) throw new PolicyError('invalid-input', 'the replay file is larger than 16 MiB');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PolicyError('invalid-input', `not JSON: ${(err as Error).message}`, '', { cause: err });
  }
  const pcrsIn = (parsed as { pcrs?: unknown } | null)?.pcrs;
  if (typeof pcrsIn !== 'object' || pcrsIn === null || Array.isArray(pcrsIn)) {
    throw new PolicyError('invalid-input', 'not `vigil-agent eventlog replay --json` output: expected {"format": ..., "pcrs": {"<bank>": {"<pcr>": "<hex>"}}}');
  }
  const pcrs: Record<string, Record<string, string[]>> = {};
  for (const [bank, values] of Object.entries(pcrsIn as Record<string, unknown>)) {
    if (!(BANKS as readonly string[]).includes(bank)) continue; // sm3 or sha3 banks: not in policies
    if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new PolicyError('invalid-input', `pcrs.${bank} is not an object`);
    const out: Record<string, string[]> = {};
    for (const [pcr, value] of Object.entries(values as Record<string, unknown>)) {
      if (!/^(?:[0-9]|1[0-9]|2[0-3])$/.test(pcr)) throw new PolicyError('invalid-input', `pcrs.${bank}: ${JSON.stringify(pcr)} is not a PCR index 0-23`);
      if (typeof value !== 'string' || !/^[0-9a-f]+$/.test(value) || value.length !== DIGEST_SIZES[bank]! * 2) {
        throw new PolicyError('invalid-input', `pcrs.${bank}.${pcr} is not a ${bank} value`);
      }
      out[pcr] = [value];
    }
    if (Object.keys(out).length > 0) pcrs[bank] = out;
  }
  if (Object.keys(pcrs).length === 0) throw new PolicyError('invalid-input', 'the replay has no PCR values in a sha1/sha256/sha384/sha512 bank');
  return { v: 1, description: options.description ?? 'imported from an event log replay', pcrs };
}
