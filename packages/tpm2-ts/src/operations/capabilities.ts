import { GetCapability } from '../commands/capability.js';
import { hashAlgorithm } from '../constants/alg.js';
import { TPM_CAP, TPM_PT } from '../constants/st.js';
import { TpmProtocolError } from '../errors.js';
import type { TpmsCapabilityData } from '../structures/misc.js';
import type { TpmlPcrSelection } from '../structures/basic.js';
import type { CommandRunner } from '../tpm.js';

/** Values a capability returns, by TPM_CAP (Part 2 §10.10.2 TPMU_CAPABILITIES). */
type CapabilityValue = TpmsCapabilityData['data'];

// Guards against a TPM that keeps saying moreData without making progress.
const MAX_ROUNDS = 1024;

/**
 * All values of one capability from `property` on, following moreData
 * (Part 3 §30.2: the TPM returns at most propertyCount values; the caller
 * asks again starting after the last one). `keyOf` gives each returned
 * element's property/handle so the next request can start after it.
 */
async function collect<T>(
  tpm: CommandRunner,
  capability: number,
  property: number,
  extract: (data: CapabilityValue) => T[],
  keyOf: (item: T) => number,
  limit = 0xffffffff,
): Promise<T[]> {
  const out: T[] = [];
  for (let round = 0, next = property; round < MAX_ROUNDS; round++) {
    const r = await tpm.execute(GetCapability, { capability, property: next, propertyCount: 256 });
    if (r.capabilityData.capability !== capability) {
      throw new TpmProtocolError('TPM2_GetCapability', `asked for capability ${capability}, got ${r.capabilityData.capability}`);
    }
    // Only values at or after the one asked for count: a TPM repeating itself cannot add duplicates.
    const items = extract(r.capabilityData.data).filter((i) => keyOf(i) >= next && keyOf(i) <= limit);
    out.push(...items);
    const last = items.at(-1);
    if (!r.moreData || last === undefined) return out;
    const after = keyOf(last) + 1;
    if (after <= next || after > limit) return out;
    next = after;
  }
  throw new TpmProtocolError('TPM2_GetCapability', `moreData still set after ${MAX_ROUNDS} requests`);
}

/** TPM properties (TPM_CAP_TPM_PROPERTIES) from `first` to `last`, as a map from TPM_PT to value. */
export async function getProperties(tpm: CommandRunner, first: number = TPM_PT.FAMILY_INDICATOR, last: number = 0x2ff): Promise<Map<number, number>> {
  const items = await collect(
    tpm,
    TPM_CAP.TPM_PROPERTIES,
    first,
    (d) => d as { property: number; value: number }[],
    (p) => p.property,
    last,
  );
  return new Map(items.map((p) => [p.property, p.value]));
}

/** One TPM property, or undefined if the TPM does not report it. */
export async function getProperty(tpm: CommandRunner, property: number): Promise<number | undefined> {
  const r = await tpm.execute(GetCapability, { capability: TPM_CAP.TPM_PROPERTIES, property, propertyCount: 1 });
  const items = r.capabilityData.data as { property: number; value: number }[];
  return items.find((p) => p.property === property)?.value;
}

/** Handles in use from `first` (a TPM_HT range start, e.g. HR.PERSISTENT) up to the end of that range. */
export async function getHandles(tpm: CommandRunner, first: number): Promise<number[]> {
  const end = ((first >>> 24) << 24) + 0x00ffffff;
  return collect(tpm, TPM_CAP.HANDLES, first, (d) => d as number[], (h) => h, end >>> 0);
}

/** Allocated PCR banks (TPM_CAP_PCRS): each bank's hash algorithm and which PCRs it holds. */
export async function getPcrAllocation(tpm: CommandRunner): Promise<TpmlPcrSelection> {
  const r = await tpm.execute(GetCapability, { capability: TPM_CAP.PCRS, property: 0, propertyCount: 1 });
  return r.capabilityData.data as TpmlPcrSelection;
}

/** A PCR bank that has at least one PCR allocated. */
export interface PcrBank {
  readonly hashAlg: number;
  /** `sha256` style name, or the algorithm id in hex when unknown. */
  readonly name: string;
  readonly pcrs: readonly number[];
}

/** Banks with at least one allocated PCR (a TPM may list a bank with an empty bitmap). */
export async function getPcrBanks(tpm: CommandRunner): Promise<PcrBank[]> {
  const banks: PcrBank[] = [];
  for (const s of await getPcrAllocation(tpm)) {
    const pcrs: number[] = [];
    s.pcrSelect.forEach((byte, i) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(i * 8 + bit);
    });
    if (pcrs.length === 0) continue;
    banks.push({ hashAlg: s.hash, name: hashAlgorithm(s.hash)?.name ?? `0x${s.hash.toString(16)}`, pcrs });
  }
  return banks;
}

/** TPM_PT_MANUFACTURER and TPM_PT_VENDOR_STRING_* are four ASCII characters packed in a UINT32 (Part 2 §6.13). */
export function propertyString(...values: (number | undefined)[]): string {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE((v ?? 0) >>> 0, i * 4));
  return b.toString('latin1').replace(/\0+$/, '').replace(/[^\x20-\x7e]/g, '?');
}

/** Who made the TPM and what it runs, from its fixed properties. */
export interface TpmIdentity {
  /** TPM_PT_MANUFACTURER as its 4-character vendor id, e.g. `IBM`, `INTC`, `MSFT`. */
  readonly manufacturer: string;
  readonly manufacturerId: number;
  readonly vendorString: string;
  /** TPM_PT_FIRMWARE_VERSION_1 and _2: vendor-defined; most vendors use major.minor in 1 and build in 2. */
  readonly firmwareVersion: readonly [number, number];
  /** `major.minor.build.patch` from the four 16-bit halves of the two firmware words. */
  readonly firmwareVersionString: string;
  /** Spec family ("2.0"), level and revision (e.g. 164 = 1.64). */
  readonly family: string;
  readonly level: number;
  readonly revision: number;
  readonly year: number;
  readonly dayOfYear: number;
}

export async function getTpmIdentity(tpm: CommandRunner): Promise<TpmIdentity> {
  const p = await getProperties(tpm, TPM_PT.FAMILY_INDICATOR, TPM_PT.FIRMWARE_VERSION_2);
  const fw1 = p.get(TPM_PT.FIRMWARE_VERSION_1) ?? 0;
  const fw2 = p.get(TPM_PT.FIRMWARE_VERSION_2) ?? 0;
  return {
    manufacturer: propertyString(p.get(TPM_PT.MANUFACTURER)),
    manufacturerId: p.get(TPM_PT.MANUFACTURER) ?? 0,
    vendorString: propertyString(p.get(TPM_PT.VENDOR_STRING_1), p.get(TPM_PT.VENDOR_STRING_2), p.get(TPM_PT.VENDOR_STRING_3), p.get(TPM_PT.VENDOR_STRING_4)),
    firmwareVersion: [fw1, fw2],
    firmwareVersionString: `${fw1 >>> 16}.${fw1 & 0xffff}.${fw2 >>> 16}.${fw2 & 0xffff}`,
    family: propertyString(p.get(TPM_PT.FAMILY_INDICATOR)),
    level: p.get(TPM_PT.LEVEL) ?? 0,
    revision: p.get(TPM_PT.REVISION) ?? 0,
    year: p.get(TPM_PT.YEAR) ?? 0,
    dayOfYear: p.get(TPM_PT.DAY_OF_YEAR) ?? 0,
  };
}
