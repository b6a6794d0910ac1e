import YAML from 'yaml';
import { PolicyError } from '../errors.js';
import { BANKS, type PolicyDocument } from '../schema.js';

const APPLICATION = 'EV_EFI_BOOT_SERVICES_APPLICATION';
const DRIVERS = new Set(['EV_EFI_BOOT_SERVICES_DRIVER', 'EV_EFI_RUNTIME_SERVICES_DRIVER']);
const DIGEST_SIZES: Readonly<Record<string, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/**
 * Golden values from `tpm2_eventlog` output (tpm2-tools 5.x YAML): the
 * `pcrs:` section it computes (`sha256: { 0: 0x…, … }`) becomes the PCR
 * golden values, and the digests of the `EV_EFI_BOOT_SERVICES_APPLICATION`
 * and driver events the allowed boot applications and drivers. The YAML is
 * read with every scalar as a string (`0x…` digests are not numbers) and
 * bounded like any untrusted input.
 */
export function policyFromTpm2Eventlog(text: string, options: { description?: string } = {}): PolicyDocument {
  if (text.length > 64 * 1024 * 1024) throw new PolicyError('invalid-input', 'the tpm2_eventlog output is larger than 64 MiB');
  let parsed: unknown;
  try {
    parsed = YAML.parse(text, { schema: 'failsafe', maxAliasCount: 10, logLevel: 'error' });
  } catch (err) {
    throw new PolicyError('invalid-input', `not YAML: ${(err as Error).message}`, '', { cause: err });
  }
  if (!isObject(parsed)) throw new PolicyError('invalid-input', 'not tpm2_eventlog output: expected a mapping with `events` and `pcrs`');
  const pcrsIn = parsed['pcrs'];
  if (!isObject(pcrsIn)) throw new PolicyError('invalid-input', 'the tpm2_eventlog output has no `pcrs:` section (tpm2-tools 5.x prints it after the events)');
  const pcrs: Record<string, Record<string, string[]>> = {};
  for (const bank of BANKS) {
    const values = pcrsIn[bank];
    if (values === undefined) continue;
    if (!isObject(values)) throw new PolicyError('invalid-input', `pcrs.${bank} is not a mapping of PCR index to value`);
    const out: Record<string, string[]> = {};
    for (const [index, value] of Object.entries(values)) {
      const pcr = index.trim();
      if (!/^(?:[0-9]|1[0-9]|2[0-3])$/.test(pcr)) throw new PolicyError('invalid-input', `pcrs.${bank}: ${JSON.stringify(index)} is not a PCR index 0-23`);
      out[pcr] = [digestHex(value, bank, `pcrs.${bank}.${pcr}`)];
    }
    if (Object.keys(out).length > 0) pcrs[bank] = out;
  }
  if (Object.keys(pcrs).length === 0) throw new PolicyError('invalid-input', 'the `pcrs:` section names no sha1/sha256/sha384/sha512 bank');

  const applications = new Set<string>();
  const drivers = new Set<string>();
  const events = parsed['events'];
  if (Array.isArray(events)) {
    for (const [i, e] of events.entries()) {
      if (!isObject(e) || typeof e['EventType'] !== 'string') continue;
      const type = e['EventType'];
      if (type !== APPLICATION && !DRIVERS.has(type)) continue;
      const digests = Array.isArray(e['Digests']) ? e['Digests'] : [];
      const byBank = new Map<string, string>();
      for (const d of digests) {
        if (isObject(d) && typeof d['AlgorithmId'] === 'string' && Object.hasOwn(DIGEST_SIZES, d['AlgorithmId'])) {
          byBank.set(d['AlgorithmId'], digestHex(d['Digest'], d['AlgorithmId'], `events[${i}].Digests`));
        }
      }
      const chosen = byBank.get('sha256') ?? [...byBank.values()][0];
      if (chosen !== undefined) (type === APPLICATION ? applications : drivers).add(chosen);
    }
  }
  return {
    v: 1,
    description: options.description ?? 'imported from tpm2_eventlog output',
    pcrs,
    ...(applications.size > 0 || drivers.size > 0
      ? { eventLog: { ...(applications.size > 0 ? { bootApplications: [...applications] } : {}), ...(drivers.size > 0 ? { bootDrivers: [...drivers] } : {}) } }
      : {}),
  };
}

function digestHex(value: unknown, bank: string, where: string): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase().replace(/^0x/, '') : '';
  if (!/^[0-9a-f]+$/.test(text) || text.length !== DIGEST_SIZES[bank]! * 2) {
    throw new PolicyError('invalid-input', `${where}: not a ${bank} digest: ${JSON.stringify(String(value).slice(0, 80))}`);
  }
  return text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
