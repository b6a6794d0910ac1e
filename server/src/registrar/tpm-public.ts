import { createHash, type KeyObject } from 'node:crypto';
import type { EnrollRejection } from '@vigil/protocol/core';
import { algName, decodePublicBlob, hashAlgorithm, publicKeyFromTpmt, type TpmtPublic } from '@vigil/tpm2-ts';
import { refuse } from './refusal.js';

/** A TPM public area as received, decoded once: its wire bytes, structure, Name and key. */
export interface ReceivedPublic {
  /** TPM2B_PUBLIC exactly as the device sent it (stored as is). */
  readonly bytes: Uint8Array;
  readonly public: TpmtPublic;
  /** nameAlg || H_nameAlg(TPMT_PUBLIC) (TPM 2.0 Part 1 §16): computed here, never taken from the device. */
  readonly name: Uint8Array;
  readonly key: KeyObject;
}

type PublicRejection = Extract<EnrollRejection, 'ek-invalid' | 'ak-invalid'>;

/**
 * Decodes a base64 TPM2B_PUBLIC (the schema already bounded its size) with
 * the one TPM codec: a size prefix that lies, trailing bytes, an unknown
 * algorithm or a point off its curve all end in `reason`.
 */
export function receivePublic(base64: string, reason: PublicRejection, what: string): ReceivedPublic {
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  let pub: TpmtPublic;
  try {
    pub = decodePublicBlob(bytes);
  } catch (err) {
    refuse(reason, `the ${what} is not a TPM2B_PUBLIC: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = publicKeyFromTpmt(pub);
  } catch (err) {
    refuse(reason, `the ${what} public area holds no usable public key: ${(err as Error).message}`);
  }
  return { bytes, public: pub, name: nameOf(bytes, pub.nameAlg, reason, what), key };
}

/**
 * The Name hashed over the bytes received rather than over a re-encoding: it
 * must be the Name the TPM computes for this object (Part 1 §16), byte for
 * byte, because MakeCredential binds the secret to it.
 */
function nameOf(tpm2bPublic: Uint8Array, nameAlg: number, reason: PublicRejection, what: string): Uint8Array {
  const hash = hashAlgorithm(nameAlg);
  if (hash === undefined) refuse(reason, `the ${what}'s nameAlg ${algName(nameAlg)} is not a hash algorithm`);
  let digest: Buffer;
  try {
    digest = createHash(hash.nodeName).update(tpm2bPublic.subarray(2)).digest();
  } catch {
    refuse(reason, `the ${what}'s nameAlg ${algName(nameAlg)} is not supported here`);
  }
  const name = new Uint8Array(2 + digest.length);
  name[0] = nameAlg >>> 8;
  name[1] = nameAlg & 0xff;
  name.set(digest, 2);
  return name;
}
