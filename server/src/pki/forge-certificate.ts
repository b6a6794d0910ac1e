import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { PkiError } from './errors.js';
import { toForgeRsaPublicKey } from './keys.js';
import { forgeSigner } from './signer.js';

/** A distinguished name attribute, as node-forge takes it (`{ shortName: 'CN', value }`). */
export type NameAttribute = forge.pki.CertificateField;

/**
 * node-forge's extension descriptors (`{ name: 'basicConstraints', cA: true }`).
 * forge types them as `any`; this narrows them to an object at our boundary.
 */
export type ForgeExtension = { readonly name: string; readonly critical?: boolean } & Record<string, unknown>;

/** Everything that goes into a TBSCertificate (RFC 5280 §4.1.2). */
export interface CertificateTemplate {
  /** Canonical lowercase hex (see `randomSerial`). */
  readonly serial: string;
  readonly subject: readonly NameAttribute[];
  readonly issuer: readonly NameAttribute[];
  readonly publicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly ForgeExtension[];
}

/**
 * Builds the certificate with node-forge and signs it sha256WithRSAEncryption
 * with the issuer's key inside node:crypto (see `forgeSigner`). Returns PEM.
 */
export function signCertificate(template: CertificateTemplate, issuerKey: KeyObject): string {
  if (!(template.notAfter.getTime() > template.notBefore.getTime())) {
    throw new PkiError('invalid-option', 'certificate notAfter must be later than notBefore');
  }
  const cert = forge.pki.createCertificate();
  cert.publicKey = toForgeRsaPublicKey(template.publicKey);
  cert.serialNumber = template.serial;
  cert.validity.notBefore = template.notBefore;
  cert.validity.notAfter = template.notAfter;
  cert.setSubject([...template.subject]);
  cert.setIssuer([...template.issuer]);
  cert.setExtensions([...template.extensions]);
  cert.sign(forgeSigner(issuerKey), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** RFC 5280 §4.2.1.6: SAN entries, typed for forge (2 = dNSName, 6 = URI, 7 = iPAddress). */
export function subjectAltName(names: { dns?: readonly string[]; ip?: readonly string[]; uri?: readonly string[] }): ForgeExtension {
  const altNames: Array<Record<string, unknown>> = [
    ...(names.dns ?? []).map((value) => ({ type: 2, value })),
    ...(names.uri ?? []).map((value) => ({ type: 6, value })),
    ...(names.ip ?? []).map((ip) => ({ type: 7, ip })),
  ];
  return { name: 'subjectAltName', altNames };
}

/** RFC 5280 §4.2.1.1: AKI carrying the issuer's subject key identifier (forge wants raw bytes as a binary string). */
export function authorityKeyIdentifier(issuerKeyIdHex: string): ForgeExtension {
  return { name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(issuerKeyIdHex) };
}
