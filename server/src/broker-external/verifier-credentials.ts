import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataDir } from '../datadir.js';
import { days, generateRsaKeyPair, privateKeyToPem, writeSecretFile, type FleetCa } from '../pki/index.js';
import { writeFileAtomic } from '../pki/secret-file.js';
import { x509 } from '../pki/x509.js';
import { VERIFIER_URI_PREFIX, verifierUsername } from './verifier-identity.js';

/** The client credential a replica presents to the external broker. */
export interface VerifierCredentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** The certificate's CN: the replica's username at the broker. */
  readonly username: string;
}

/** A credential is reissued when it has less than this left (or names another replica, or another CA issued it). */
const RENEW_BEFORE_MS = days(30);
const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** Where a replica keeps its broker client credential: `DIR/broker-client.pem` and `DIR/broker-client.key` (0600). */
export function verifierCredentialPaths(paths: DataDir): { readonly certificate: string; readonly key: string } {
  return { certificate: join(paths.root, 'broker-client.pem'), key: join(paths.root, 'broker-client.key') };
}

/**
 * Loads this replica's broker client credential, issuing a new one from
 * the fleet CA when it is missing, names another replica, was not issued by
 * this CA, does not match its key or expires within 30 days. The
 * certificate: subject `CN=vigil:verifier:<name>, O=Vigil verifier`, SAN
 * URI `urn:vigil:verifier:<name>`, extKeyUsage clientAuth only, RSA-2048,
 * 16-byte random serial. It carries no `urn:vigil:device:` URI, so Vigil's
 * own broker refuses it as a device.
 */
export async function loadOrIssueVerifierCredentials(
  paths: DataDir,
  ca: FleetCa,
  name: string,
  options: { readonly validityMs: number; readonly now?: number },
): Promise<{ credentials: VerifierCredentials; issued: boolean }> {
  const files = verifierCredentialPaths(paths);
  const username = verifierUsername(name);
  const now = options.now ?? Date.now();
  try {
    const [certificatePem, privateKeyPem] = await Promise.all([readFile(files.certificate, 'utf8'), readFile(files.key, 'utf8')]);
    if (usable(certificatePem, privateKeyPem, ca, username, now)) return { credentials: { certificatePem, privateKeyPem, username }, issued: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const credentials = await issueVerifierCredentials(ca, name, options.validityMs, new Date(now));
  await writeSecretFile(files.key, credentials.privateKeyPem);
  await writeFileAtomic(files.certificate, credentials.certificatePem, 0o644);
  return { credentials, issued: true };
}

function usable(certificatePem: string, privateKeyPem: string, ca: FleetCa, username: string, now: number): boolean {
  try {
    const cert = new X509Certificate(certificatePem);
    return (
      cert.checkPrivateKey(createPrivateKey(privateKeyPem)) &&
      cert.verify(ca.certificate.publicKey) &&
      cert.subject.split('\n').includes(`CN=${username}`) &&
      Date.parse(cert.validTo) - now > RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}

/** A fresh key and certificate for replica `name`, signed by the fleet CA. */
export async function issueVerifierCredentials(ca: FleetCa, name: string, validityMs: number, now = new Date()): Promise<VerifierCredentials> {
  const keys = await generateRsaKeyPair(2048);
  const caCert = new x509.X509Certificate(ca.certificate.raw);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(ca.privateKeyPem()).export({ type: 'pkcs8', format: 'der' }), SIGNING, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', keys.publicKey.export({ type: 'spki', format: 'der' }), SIGNING, true, ['verify']);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) || 0x01; // positive, no leading zero octet (RFC 5280 §4.1.2.2)
  const username = verifierUsername(name);
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial.toString('hex'),
      // Byte-identical to the CA's subject, so every relying party matches the issuer.
      issuer: caCert.subjectName,
      subject: new x509.Name([{ CN: [username] }, { O: ['Vigil verifier'] }]),
      notBefore: new Date(now.getTime() - 5 * 60_000),
      notAfter: new Date(now.getTime() + validityMs),
      signingAlgorithm: SIGNING,
      publicKey,
      signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: VERIFIER_URI_PREFIX + name }]),
        ...(ski !== null ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId)] : []),
      ],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1],
  );
  return { certificatePem: cert.toString('pem'), privateKeyPem: privateKeyToPem(keys.privateKey), username };
}
