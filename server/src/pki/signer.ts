import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { PkiError } from './errors.js';

/**
 * DER prefix of DigestInfo { sha256, NULL } (RFC 8017 §9.2, note 1). Appending
 * the 32-byte digest gives the `T` that EMSA-PKCS1-v1_5 pads.
 */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * A node-forge "private key" whose `sign(md)` is done by OpenSSL.
 *
 * node-forge assembles the TBSCertificate and hands `key.sign` the running
 * SHA-256 state; its own RSA is pure JS (~30x slower and not constant time).
 * Here the digest is wrapped in DigestInfo and RSA-signed with PKCS#1 v1.5
 * padding via `privateEncrypt`, which is exactly RSASSA-PKCS1-v1_5
 * (RFC 8017 §8.2.1), so the private key never leaves node:crypto.
 */
export function forgeSigner(privateKey: KeyObject): forge.pki.rsa.PrivateKey {
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new PkiError('unsupported-key', `the CA key must be RSA, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  }
  const signer = {
    sign(md: forge.md.MessageDigest): string {
      if (md.algorithm !== 'sha256') throw new PkiError('invalid-option', `unsupported digest ${md.algorithm}`);
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const signature = privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]),
      );
      return signature.toString('binary');
    },
  };
  // forge only ever calls `sign(md)` on the key it is given (certificate.sign).
  return signer as unknown as forge.pki.rsa.PrivateKey;
}
