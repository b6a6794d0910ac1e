import { constants, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
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
    const ephemeral = generateKeyPairSync('ec', { namedCurve: curve.nodeName });
    const z = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: publicKeyFromTpmt(key) });
    const jwk = ephemeral.publicKey.export({ format: 'jwk' });
    // JWK coordinates are full-width (RFC 7518 §6.2.1.2), as the TPM marshals its own points.
    const point = { x: new Uint8Array(Buffer.from(jwk.x!, 'base64url')), y: new Uint8Array(Buffer.from(jwk.y!, 'base64url')) };
    // partyVInfo is the key's x exactly as in its public area: the TPM uses its own bytes.
    const seed = kdfe(key.nameAlg, new Uint8Array(z), label, point.x, (key.unique as TpmsEccPoint).x, nameHash.size * 8);
    return { seed, encryptedSecret: marshal(TPMS_ECC_POINT, point) };
  }
  throw new TpmPublicKeyError(`cannot share a secret with a key of type ${algName(key.type)}: RSA or ECC needed`);
}
