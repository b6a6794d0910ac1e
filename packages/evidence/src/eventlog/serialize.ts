/**
 * Writes events back in the binary log format, byte for byte as they were
 * parsed: each event in the structure it was read from (TCG_PCR_EVENT or
 * TCG_PCR_EVENT2). Used to re-send logs and by the property tests.
 */
import { ByteWriter } from '../binary/byte-writer.js';
import { ByteReader } from '../binary/byte-reader.js';
import { decodeExact } from '../binary/codec.js';
import { hashAlgorithmById } from '../crypto/hash-algorithms.js';
import type { RawEvent } from './event.js';
import { EventType } from './event-types.js';
import { SPEC_ID_EVENT03, TcgEfiSpecIdEvent, TcgPcrEvent, tcgPcrEvent2 } from './structures/tcg.js';

/** An event to write: what a RawEvent holds, without its position in a log. */
export type EventInput = Pick<RawEvent, 'encoding' | 'pcrIndex' | 'eventType' | 'digests' | 'data'>;

export function serializeEventLog(events: Iterable<EventInput>): Uint8Array {
  const w = new ByteWriter(4096);
  let sizes = new Map<number, number>();
  for (const e of events) {
    if (e.encoding === 'pcr-event') {
      const sha1 = e.digests.find((d) => d.algorithmId === 0x0004);
      if (!sha1 || e.digests.length !== 1) throw new RangeError('a TCG_PCR_EVENT carries exactly one SHA-1 digest');
      TcgPcrEvent.write(w, { pcrIndex: e.pcrIndex, eventType: e.eventType, digest: sha1.digest, event: e.data });
      if (e.eventType === EventType.EV_NO_ACTION && startsWithSpecId(e.data)) {
        const spec = decodeExact(TcgEfiSpecIdEvent, new ByteReader(e.data));
        sizes = new Map(spec.digestSizes.map((a) => [a.algorithmId, a.digestSize]));
      }
    } else {
      for (const d of e.digests) {
        const size = sizes.get(d.algorithmId) ?? hashAlgorithmById(d.algorithmId)?.size;
        if (size !== d.digest.length) throw new RangeError(`digest for algorithm 0x${d.algorithmId.toString(16)} has the wrong size`);
      }
      tcgPcrEvent2(sizes).write(w, {
        pcrIndex: e.pcrIndex,
        eventType: e.eventType,
        digests: e.digests.map((d) => ({ hashAlg: d.algorithmId, digest: d.digest })),
        event: e.data,
      });
    }
  }
  return w.finish();
}

/** The data of a Spec ID Event03 header declaring `algorithms` (TPM_ALG_IDs of known hashes). */
export function specIdEventData(algorithms: readonly number[], options: { uintnSize?: 4 | 8; vendorInfo?: Uint8Array } = {}): Uint8Array {
  const w = new ByteWriter();
  TcgEfiSpecIdEvent.write(w, {
    signature: SPEC_ID_EVENT03,
    platformClass: 0,
    specVersionMinor: 0,
    specVersionMajor: 2,
    specErrata: 0,
    uintnSize: options.uintnSize === 4 ? 1 : 2,
    digestSizes: algorithms.map((algorithmId) => {
      const a = hashAlgorithmById(algorithmId);
      if (!a) throw new RangeError(`unknown algorithm 0x${algorithmId.toString(16)}`);
      return { algorithmId, digestSize: a.size };
    }),
    vendorInfo: options.vendorInfo ?? new Uint8Array(0),
  });
  return w.finish();
}

function startsWithSpecId(data: Uint8Array): boolean {
  return data.length >= 16 && Buffer.compare(data.subarray(0, 16), SPEC_ID_EVENT03) === 0;
}
