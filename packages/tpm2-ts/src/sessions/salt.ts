import { constants, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { marshal } from '../codec/codec.js';
import { ECC_CURVES, hashAlgorithm, TPM_ALG } from '../constants/alg.js';
import { kdfe } from '../crypto/kdf.js';
import { publicKeyFromTpmt } from '../crypto/public-key.js';
import { TPMS_ECC_POINT, type TpmtPublic } from '../structures/public.js';

/** A session salt and its encryption to the TPM key given as StartAuthSession's tpmKey. */
export interface EncryptedSalt {
  readonly salt: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET contents: an RSA-OAEP ciphertext or a marshalled TPMS_ECC_POINT. */
  readonly encryptedSalt: Uint8Array;
}

/**
 * Makes and encrypts a session salt for `tpmKey` (Part 1 §24 "Secret
 * sharing"): RSA-OAEP with the key's nameAlg and label "SECRET" (Part 1
 * §24.4), or one-pass ECDH: an ephemeral key on the key's curve, Z = x of
 * the shared point, salt = KDFe(nameAlg, Z, "SECRET", ephemeral x, key x,
 * digest size) and the ephemeral public point as the encrypted salt (Part 1
 * §24.5). `size` is the RSA salt length (the ECC one is the nameAlg digest).
 */
export function encryptSalt(tpmKey: TpmtPublic, size: number): EncryptedSalt {
  const nameHash = hashAlgorithm(tpmKey.nameAlg);
  if (!nameHash) throw new Error(`salt key nameAlg 0x${tpmKey.nameAlg.toString(16)} is not a hash`);
  if (tpmKey.type === TPM_ALG.RSA) {
    const salt = new Uint8Array(randomBytes(size));
    const encrypted = publicEncrypt(
      {
        key: publicKeyFromTpmt(tpmKey),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: nameHash.nodeName,
        // The label includes its terminating zero octet (Part 1 §11.4.10.1).
        oaepLabel: Buffer.from('SECRET\0', 'ascii'),
      },
      salt,
    );
    return { salt, encryptedSalt: new Uint8Array(encrypted) };
  }
  if (tpmKey.type === TPM_ALG.ECC) {
    const curveId = (tpmKey.parameters as { curveID: number }).curveID;
    const curve = ECC_CURVES.get(curveId);
    if (!curve) throw new Error(`salt key curve 0x${curveId.toString(16)} is not supported`);
    const keyPoint = tpmKey.unique as { x: Uint8Array; y: Uint8Array };
    const eph = generateKeyPairSync('ec', { namedCurve: curve.nodeName });
    const z = diffieHellman({ privateKey: eph.privateKey, publicKey: publicKeyFromTpmt(tpmKey) });
    const jwk = eph.publicKey.export({ format: 'jwk' });
    const ex = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
    const ey = new Uint8Array(Buffer.from(jwk.y!, 'base64url'));
    const salt = kdfe(tpmKey.nameAlg, new Uint8Array(z), 'SECRET', ex, keyPoint.x, nameHash.size * 8);
    return { salt, encryptedSalt: marshal(TPMS_ECC_POINT, { x: ex, y: ey }) };
  }
  throw new Error(`cannot salt a session with a key of type 0x${tpmKey.type.toString(16)}`);
}
