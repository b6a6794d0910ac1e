import { createPublicKey, type KeyObject } from 'node:crypto';
import { unmarshal } from '../codec/codec.js';
import { publicKeyFromTpmt, TpmPublicKeyError } from '../crypto/public-key.js';
import { TPM2B_PUBLIC, TPMT_PUBLIC, type TpmtPublic } from '../structures/public.js';

/** The formats `parsePublicKey` recognises; tpm2-tools writes all four (`tpm2_readpublic -f tss|tpmt|pem|der`). */
export type PublicKeyFormat = 'tpm2b-public' | 'tpmt-public' | 'pem' | 'der';

export interface ParsedPublicKey {
  readonly format: PublicKeyFormat;
  readonly key: KeyObject;
  /** The TPM public area, when the input carried one (TPM2B_PUBLIC or TPMT_PUBLIC): it names the key's scheme and attributes. */
  readonly public?: TpmtPublic;
}

const PEM_START = /^\s*-----BEGIN [A-Z0-9 ]+-----/;

/**
 * Reads a public key in whichever format it comes: PEM (SPKI, PKCS#1 or a
 * certificate), DER SPKI, TPM2B_PUBLIC (tpm2-tools' `tss` format) or a bare
 * TPMT_PUBLIC. The formats cannot be confused: PEM is text; a TPM2B_PUBLIC
 * begins with its size, which must equal the bytes that follow; a
 * TPMT_PUBLIC must decode exactly; DER SPKI begins with a SEQUENCE tag (0x30),
 * which no TPMT_PUBLIC type (RSA 0x0001, ECC 0x0023, ...) or TPM2B size
 * (at most a few hundred bytes) starts with.
 */
export function parsePublicKey(bytes: Uint8Array): ParsedPublicKey {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  if (PEM_START.test(head)) {
    try {
      return { format: 'pem', key: createPublicKey({ key: Buffer.from(bytes).toString('utf8'), format: 'pem' }) };
    } catch (e) {
      throw new TpmPublicKeyError(`PEM public key could not be read: ${(e as Error).message}`);
    }
  }
  for (const [format, codec] of [
    ['tpm2b-public', TPM2B_PUBLIC],
    ['tpmt-public', TPMT_PUBLIC],
  ] as const) {
    let pub: TpmtPublic;
    try {
      pub = unmarshal(codec, bytes);
    } catch {
      continue;
    }
    return { format, key: publicKeyFromTpmt(pub), public: pub };
  }
  if (bytes[0] === 0x30) {
    try {
      return { format: 'der', key: createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' }) };
    } catch (e) {
      throw new TpmPublicKeyError(`DER public key could not be read: ${(e as Error).message}`);
    }
  }
  throw new TpmPublicKeyError('not a public key: expected PEM, DER SubjectPublicKeyInfo, TPM2B_PUBLIC or TPMT_PUBLIC');
}
