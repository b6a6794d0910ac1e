import { authorityKeyIdentifier, signCertificate, subjectAltName, type ForgeExtension, type NameAttribute } from './forge-certificate.js';
import type { IssuedCertificate } from './issued-certificate.js';
import type { IssuerContext } from './issuer-context.js';
import { toPublicKeyObject, type PublicKeyInput } from './keys.js';
import { randomSerial } from './serial.js';
import { validityWindow } from './validity.js';

/** What sets one kind of end-entity certificate (device, admin, broker) apart from another. */
export interface LeafCertificateProfile {
  readonly subject: readonly NameAttribute[];
  /** RFC 5280 §4.2.1.12: the one purpose the key may serve in TLS. */
  readonly extendedKeyUsage: 'clientAuth' | 'serverAuth';
  /**
   * RFC 5280 §4.2.1.3: digitalSignature always (TLS 1.3 CertificateVerify);
   * keyEncipherment too for a server that may meet TLS 1.2 RSA key exchange.
   */
  readonly keyEncipherment?: boolean;
  /** §4.2.1.6: the names a peer checks (device and admin URIs, broker host names and addresses). */
  readonly subjectAltNames: Parameters<typeof subjectAltName>[0];
  /** §4.2.1.2: a subjectKeyIdentifier, for certificates others chain or pin by key. */
  readonly subjectKeyIdentifier?: boolean;
}

export interface LeafCertificateKey {
  readonly publicKey: PublicKeyInput;
  readonly validityMs: number;
  /** Issue time; defaults to the current time (backdated for clock skew by `validityWindow`). */
  readonly now?: Date;
}

/**
 * An end-entity certificate signed by the fleet CA: a fresh random serial,
 * the validity window from `now`, never a CA (basicConstraints cA=false,
 * critical), keyUsage critical, the profile's extended key usage and SANs,
 * and the CA's key identifier as authorityKeyIdentifier (§4.2.1.1).
 */
export function issueLeafCertificate(issuer: IssuerContext, profile: LeafCertificateProfile, key: LeafCertificateKey): IssuedCertificate {
  const { notBefore, notAfter } = validityWindow(key.now ?? new Date(), key.validityMs);
  const serial = randomSerial();
  const extensions: ForgeExtension[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, ...(profile.keyEncipherment === true ? { keyEncipherment: true } : {}), critical: true },
    { name: 'extKeyUsage', [profile.extendedKeyUsage]: true },
    subjectAltName(profile.subjectAltNames),
    ...(profile.subjectKeyIdentifier === true ? [{ name: 'subjectKeyIdentifier' }] : []),
    authorityKeyIdentifier(issuer.keyIdHex),
  ];
  const pem = signCertificate(
    { serial, subject: profile.subject, issuer: issuer.subject, publicKey: toPublicKeyObject(key.publicKey), notBefore, notAfter, extensions },
    issuer.privateKey,
  );
  return { pem, serial, notBefore, notAfter };
}
