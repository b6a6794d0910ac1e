import { createHash } from 'node:crypto';
import { marshal } from '../codec/codec.js';
import { hashAlgorithm } from '../constants/alg.js';
import { TPMS_NV_PUBLIC, type TpmsNvPublic } from '../structures/misc.js';
import { TPMT_PUBLIC, type TpmtPublic } from '../structures/public.js';

function nameFrom(nameAlg: number, marshalled: Uint8Array): Uint8Array {
  const h = hashAlgorithm(nameAlg);
  if (!h) throw new Error(`nameAlg 0x${nameAlg.toString(16)} is not a hash algorithm`);
  const digest = createHash(h.nodeName).update(marshalled).digest();
  const out = new Uint8Array(2 + digest.length);
  new DataView(out.buffer).setUint16(0, nameAlg);
  out.set(digest, 2);
  return out;
}

/** An object's Name: nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1 §16.2). */
export function objectName(pub: TpmtPublic): Uint8Array {
  return nameFrom(pub.nameAlg, marshal(TPMT_PUBLIC, pub));
}

/** An NV index's Name: nameAlg || H_nameAlg(TPMS_NV_PUBLIC) (Part 1 §16.3). */
export function nvIndexName(pub: TpmsNvPublic): Uint8Array {
  return nameFrom(pub.nameAlg, marshal(TPMS_NV_PUBLIC, pub));
}
