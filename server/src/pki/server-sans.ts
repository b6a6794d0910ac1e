import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import { x509 } from './x509.js';

/**
 * One spelling per name, so that configuration and certificate compare
 * equal when they mean the same host: DNS names are case-insensitive
 * (RFC 4343), and an IP address has many textual forms (`::1`,
 * `0:0:0:0:0:0:0:1`) but one WHATWG URL serialization.
 */
export function canonicalServerSan(san: string): string {
  const family = isIP(san);
  if (family === 6) return new URL(`http://[${san}]/`).hostname;
  if (family === 4) return new URL(`http://${san}/`).hostname;
  return san.toLowerCase();
}

/**
 * The dNSName and iPAddress SANs of a broker certificate, canonical
 * (RFC 5280 §4.2.1.6). Decoded structurally from the DER: this runs once at
 * server start, so the ~2 ms of @peculiar/x509 do not matter.
 */
export function serverCertificateSans(cert: X509Certificate): Set<string> {
  const san = new x509.X509Certificate(cert.raw).getExtension(x509.SubjectAlternativeNameExtension);
  const names = new Set<string>();
  for (const name of san?.names.items ?? []) {
    if (name.type === 'dns' || name.type === 'ip') names.add(canonicalServerSan(name.value));
  }
  return names;
}

/** Whether the certificate names exactly the configured hosts and addresses (order and spelling aside). */
export function hasServerSans(cert: X509Certificate, configured: readonly string[]): boolean {
  const wanted = new Set(configured.map(canonicalServerSan));
  const actual = serverCertificateSans(cert);
  return wanted.size === actual.size && [...wanted].every((name) => actual.has(name));
}
