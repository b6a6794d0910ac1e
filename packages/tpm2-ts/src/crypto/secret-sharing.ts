import { constants, createECDH, publicEncrypt, randomBytes } from 'node:crypto';
import { marshal } from '../codec/codec.js';
import { algName, ECC_CURVES, hashAlgorithm, TPM_ALG } from '../constants/alg.js';
import { TPMS_ECC_POINT, type TpmsEccParms, type TpmsEccPoint, type TpmtPublic } from '../structures/public.js';
import { kdfe } from './kdf.js';
import { publicKeyFromTpmt, TpmPublicKeyError } from './public-key.js';

/** A seed shared with the holder of a TPM key's private part, and what to send it. */
export interface SharedSeed {
  /** The seed, nameAlg-digest sized. Secret: it keys everything protected with it. */
  readonly seed: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET contents: an RSA-OAEP ciphertext, or a marshalled TPMS_ECC_POINT (the ephemeral public key). */
  readonly encryptedSecret: Uint8Array;
}

/**
 * Makes a fresh seed that only `key`'s TPM can recover, the way the TPM
 * shares secrets with an outside party (Part 1 "Secret Sharing"; used by
 * MakeCredential with label "IDENTITY", by Duplicate with "DUPLICATE" and by
 * salted sessions with "SECRET"):
 *
 *  - RSA: seed = random(nameAlg digest size), encrypted with RSA-OAEP, the
 *    OAEP hash being the key's nameAlg and the OAEP label `label` with its
 *    terminating zero octet (Part 1 Annex B, "Secret Sharing").
 *  - ECC: one-pass Diffie-Hellman (Part 1 Annex C, C(1, 1, ECC CDH)): an
 *    ephemeral key pair on the key's curve; Z = x of the shared point;
 *    seed = KDFe(nameAlg, Z, label, ephemeral x, key x, digest bits); the
 *    ephemeral public point is what is sent.
 */
export function shareSeed(key: TpmtPublic, label: string): SharedSeed {
  const nameHash = hashAlgorithm(key.nameAlg);
  if (!nameHash) throw new TpmPublicKeyError(`key nameAlg ${algName(key.nameAlg)} is not a hash algorithm`);
  if (key.type === TPM_ALG.RSA) {
    const seed = new Uint8Array(randomBytes(nameHash.size));
    const encrypted = publicEncrypt(
      {
        key: publicKeyFromTpmt(key),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: nameHash.nodeName,
        oaepLabel: Buffer.from(`${label}\0`, 'ascii'),
      },
      seed,
    );
    return { seed, encryptedSecret: new Uint8Array(encrypted) };
  }
  if (key.type === TPM_ALG.ECC) {
    const { curveID } = key.parameters as TpmsEccParms;
    const curve = ECC_CURVES.get(curveID);
    if (!curve) throw new TpmPublicKeyError(`ECC curve 0x${curveID.toString(16)} is not supported`);
    // Checks the key's point (on the curve, not too wide) with a typed error.
    publicKeyFromTpmt(key);
    const unique = key.unique as TpmsEccPoint;
    // An ECDH object, not generateKeyPairSync and an export of the key it made: in Node 20 the
    // key-generation job's destructor, run by the garbage collector, takes the lock that exporting
    // that key holds, so a collection during the export deadlocks the thread (it hung a test run).
    const ecdh = createECDH(curve.nodeName);
    // Uncompressed points, 0x04 || x || y, each coordinate full width (SEC 1 §2.3.3), as the TPM marshals its own.
    const ephemeral = ecdh.generateKeys();
    const z = ecdh.computeSecret(Buffer.concat([Buffer.of(4), fullWidth(unique.x, curve.size), fullWidth(unique.y, curve.size)]));
    const point = { x: new Uint8Array(ephemeral.subarray(1, 1 + curve.size)), y: new Uint8Array(ephemeral.subarray(1 + curve.size)) };
    // partyVInfo is the key's x exactly as in its public area: the TPM uses its own bytes.
    const seed = kdfe(key.nameAlg, new Uint8Array(z), label, point.x, unique.x, nameHash.size * 8);
    return { seed, encryptedSecret: marshal(TPMS_ECC_POINT, point) };
  }
  throw new TpmPublicKeyError(`cannot share a secret with a key of type ${algName(key.type)}: RSA or ECC needed`);
}

/** A coordinate as `size` bytes: a TPM2B_ECC_PARAMETER may come without its leading zeros (publicKeyFromTpmt refused wider ones). */
function fullWidth(n: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(size);
  out.set(n, size - n.length);
  return out;
}
