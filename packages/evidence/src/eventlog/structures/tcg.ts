/**
 * The TCG structures of the event log itself, as codec definitions.
 * References: TCG PC Client Platform Firmware Profile (PFP) 1.05 rev 23,
 * section 10.2 (event structures) and 10.4.5 (EV_NO_ACTION events).
 */
import { bytes, fixedBytes, lengthOf, list, sized, struct, u16, u32, u8 } from '../../binary/codec.js';
import type { Codec, CodecValue } from '../../binary/codec.js';
import { DecodeError } from '../../binary/errors.js';

/** TCG_PCR_EVENT (PFP 10.2.1): the SHA1 log entry, also the header of a crypto-agile log. */
export const TcgPcrEvent = struct('TCG_PCR_EVENT', {
  pcrIndex: u32,
  eventType: u32,
  digest: fixedBytes(20, 'TCG_DIGEST'),
  eventSize: lengthOf(u32),
  event: sized('eventSize', bytes),
});
export type TcgPcrEvent = CodecValue<typeof TcgPcrEvent>;

/** TPMT_HA inside TCG_PCR_EVENT2: the digest size comes from the Spec ID header, not the entry. */
export interface TpmtHa {
  hashAlg: number;
  digest: Uint8Array;
}

function tpmtHa(digestSizes: ReadonlyMap<number, number>): Codec<TpmtHa> {
  const smallest = Math.min(...digestSizes.values());
  return {
    kind: 'codec',
    typeName: 'TPMT_HA',
    minSize: 2 + (Number.isFinite(smallest) ? smallest : 0),
    read(r) {
      const at = r.offset;
      const hashAlg = r.u16();
      const size = digestSizes.get(hashAlg);
      if (size === undefined) {
        throw new DecodeError(at, `digest algorithm 0x${hashAlg.toString(16).padStart(4, '0')} is not declared in the Spec ID event`);
      }
      return { hashAlg, digest: r.bytes(size) };
    },
    write(w, v) {
      w.u16(v.hashAlg).bytes(v.digest);
    },
  };
}

/** TCG_PCR_EVENT2 (PFP 10.2.2), for the digest sizes the log's Spec ID event declares. */
export function tcgPcrEvent2(digestSizes: ReadonlyMap<number, number>) {
  return struct('TCG_PCR_EVENT2', {
    pcrIndex: u32,
    eventType: u32,
    digestCount: lengthOf(u32),
    digests: sized('digestCount', list(tpmtHa(digestSizes))),
    eventSize: lengthOf(u32),
    event: sized('eventSize', bytes),
  });
}
export type TcgPcrEvent2 = CodecValue<ReturnType<typeof tcgPcrEvent2>>;

/** TCG_EfiSpecIdEventAlgorithmSize (PFP 10.4.5.1, table 21). */
export const TcgEfiSpecIdEventAlgorithmSize = struct('TCG_EfiSpecIdEventAlgorithmSize', {
  algorithmId: u16,
  digestSize: u16,
});

/** TCG_EfiSpecIDEvent (PFP 10.4.5.1, table 20): the data of the first event of a crypto-agile log. */
export const TcgEfiSpecIdEvent = struct('TCG_EfiSpecIDEvent', {
  signature: fixedBytes(16),
  platformClass: u32,
  specVersionMinor: u8,
  specVersionMajor: u8,
  specErrata: u8,
  /** 1: UINTN is UINT32, 2: UINTN is UINT64. */
  uintnSize: u8,
  numberOfAlgorithms: lengthOf(u32),
  digestSizes: sized('numberOfAlgorithms', list(TcgEfiSpecIdEventAlgorithmSize)),
  vendorInfoSize: lengthOf(u8),
  vendorInfo: sized('vendorInfoSize', bytes),
});
export type TcgEfiSpecIdEvent = CodecValue<typeof TcgEfiSpecIdEvent>;

/** TCG_PCClientStartupLocalityEvent (PFP 10.4.5.3). */
export const StartupLocalityEvent = struct('TCG_PCClientStartupLocalityEvent', {
  signature: fixedBytes(16),
  startupLocality: u8,
});

/** TCG_PCClientTaggedEvent (PFP 10.4.2.1), used with EV_EVENT_TAG. */
export const TaggedEvent = struct('TCG_PCClientTaggedEvent', {
  taggedEventId: u32,
  taggedEventDataSize: lengthOf(u32),
  taggedEventData: sized('taggedEventDataSize', bytes),
});

/** The 16-byte signatures that open EV_NO_ACTION event data. */
export const SPEC_ID_EVENT03 = new Uint8Array(Buffer.from('Spec ID Event03\0', 'latin1'));
export const STARTUP_LOCALITY = new Uint8Array(Buffer.from('StartupLocality\0', 'latin1'));
