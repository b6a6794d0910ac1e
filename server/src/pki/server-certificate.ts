import { isIP } from 'node:net';
import { PkiError } from './errors.js';
import type { IssuedCertificate } from './issued-certificate.js';
import type { IssuerContext } from './issuer-context.js';
import type { PublicKeyInput } from './keys.js';
import { issueLeafCertificate } from './leaf-certificate.js';

export interface ServerCertificateOptions {
  readonly publicKey: PublicKeyInput;
  /** Host names and IP addresses clients use to reach the broker; each becomes a dNSName or iPAddress SAN. */
  readonly sans: readonly string[];
  readonly validityMs: number;
  readonly now?: Date;
}

/** Host names per RFC 1123 (labels of letters, digits, hyphens), optionally a leading `*.` wildcard. */
const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The broker's TLS server certificate: extKeyUsage serverAuth only, SANs from
 * configuration (clients match the host they dialled against these; the CN is
 * ignored by modern TLS clients, RFC 6125 §6.4.4).
 */
export function issueServerCertificateWith(issuer: IssuerContext, options: ServerCertificateOptions): IssuedCertificate {
  const { dns, ip } = parseServerSans(options.sans);
  return issueLeafCertificate(
    issuer,
    {
      subject: [{ shortName: 'CN', value: dns[0] ?? ip[0]! }, { shortName: 'O', value: 'Vigil broker' }],
      extendedKeyUsage: 'serverAuth',
      keyEncipherment: true,
      subjectAltNames: { dns, ip },
      subjectKeyIdentifier: true,
    },
    options,
  );
}

/**
 * Sorts SANs into host names and IP addresses, refusing anything else.
 * @throws PkiError 'invalid-option'
 */
export function parseServerSans(sans: readonly string[]): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const san of sans) {
    if (isIP(san) !== 0) ip.push(san);
    else if (san.length <= 253 && DNS_NAME.test(san)) dns.push(san);
    else throw new PkiError('invalid-option', `server SAN ${JSON.stringify(san)} is neither a host name nor an IP address`);
  }
  if (dns.length + ip.length === 0) throw new PkiError('invalid-option', 'the server certificate needs at least one SAN');
  return { dns, ip };
}
