import 'reflect-metadata'; // @peculiar/x509 resolves its codecs through tsyringe, which needs it first
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';

const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/**
 * A self-signed certificate over the agent's key. Before enrollment it is the
 * agent's only credential: the broker treats any validly self-signed client
 * certificate as a bootstrap client named by the SHA-256 of its public key,
 * allowed on its own enroll topics only. Nothing in it is trusted but the key.
 *
 * No keyUsage extension: OpenSSL's issuer check (X509_check_issued, used by
 * the broker to recognise a self-signed certificate) rejects a self-issued
 * certificate whose keyUsage lacks keyCertSign.
 */
export async function createSelfSignedCertificate(
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  options: { commonName: string; notBefore: Date; notAfter: Date },
): Promise<string> {
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', keys.privateKey.export({ type: 'pkcs8', format: 'der' }), RSA_SHA256, false, ['sign']);
  const publicKey = await subtle.importKey('spki', keys.publicKey.export({ type: 'spki', format: 'der' }), RSA_SHA256, true, ['verify']);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) || 0x01; // positive, no leading zero octet (RFC 5280 §4.1.2.2)
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: [{ CN: [options.commonName] }],
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      keys: { privateKey, publicKey } as CryptoKeyPairLike as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
      signingAlgorithm: RSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  return cert.toString('pem');
}

type CryptoKeyPairLike = { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };
