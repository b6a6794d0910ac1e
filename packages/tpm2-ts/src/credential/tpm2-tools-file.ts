import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT } from '../structures/public.js';
import type { Credential } from './make-credential.js';

/**
 * tpm2-tools' credential file (`tpm2_makecredential -o`, read by
 * `tpm2_activatecredential -i`): a header of two big-endian UINT32s, the
 * magic 0xBADCC0DE and version 1, then TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET in TPM wire format.
 */
const MAGIC = 0xbadcc0de;
const VERSION = 1;

export function encodeTpm2ToolsCredential(c: Credential): Uint8Array {
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(VERSION);
  TPM2B_ID_OBJECT.encode(w, c.credentialBlob);
  TPM2B_ENCRYPTED_SECRET.encode(w, c.encryptedSecret);
  return w.finish();
}

/** Reads a tpm2-tools credential file; throws TpmUnmarshalError when it is not one. */
export function decodeTpm2ToolsCredential(bytes: Uint8Array): Credential {
  const r = new Reader(bytes);
  return r.within('tpm2-tools credential file', () => {
    const magic = r.u32();
    if (magic !== MAGIC) r.fail(`magic 0x${magic.toString(16)} is not 0xbadcc0de`, 0);
    const version = r.u32();
    if (version !== VERSION) r.fail(`version ${version} is not 1`, 4);
    const credentialBlob = r.within('credentialBlob', () => TPM2B_ID_OBJECT.decode(r));
    const encryptedSecret = r.within('secret', () => TPM2B_ENCRYPTED_SECRET.decode(r));
    r.expectEnd();
    return { credentialBlob, encryptedSecret };
  });
}
