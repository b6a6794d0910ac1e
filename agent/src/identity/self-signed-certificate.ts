import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, explicit, nullValue, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.js';

// RFC 8017 Appendix C / RFC 4055: sha256WithRSAEncryption, parameters NULL.
const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
const COMMON_NAME = '2.5.4.3';
const BASIC_CONSTRAINTS = '2.5.29.19';
const EXT_KEY_USAGE = '2.5.29.37';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * A self-signed certificate over the agent's key. Before enrollment it is the
 * agent's only credential: the broker treats any validly self-signed client
 * certificate as a bootstrap client named by the SHA-256 of its public key,
 * allowed on its own enroll topics only. Nothing in it is trusted but the key.
 *
 * Encoded directly (RFC 5280 §4.1) and signed with node:crypto: a v3
 * certificate, sha256WithRSAEncryption, subject = issuer = CN, extensions
 * basicConstraints CA:FALSE (critical) and extKeyUsage clientAuth. No
 * keyUsage extension: OpenSSL's issuer check (X509_check_issued, used by the
 * broker to recognise a self-signed certificate) rejects a self-issued
 * certificate whose keyUsage lacks keyCertSign.
 */
export async function createSelfSignedCertificate(
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  options: { commonName: string; notBefore: Date; notAfter: Date },
): Promise<string> {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) || 0x01; // positive, no leading zero octet (RFC 5280 §4.1.2.2)
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(options.commonName))));
  const extensions = sequence(
    sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence())),
    sequence(oid(EXT_KEY_USAGE), octetString(sequence(oid(CLIENT_AUTH)))),
  );
  const tbs = sequence(
    explicit(0, smallInteger(2)), // version v3
    unsignedInteger(serial),
    SHA256_WITH_RSA,
    name,
    sequence(time(options.notBefore), time(options.notAfter)),
    name,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, keys.privateKey);
  const der = sequence(tbs, SHA256_WITH_RSA, bitString(signature));
  const base64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}
