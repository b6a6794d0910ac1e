import type { KeyObject } from 'node:crypto';
import type { NameAttribute } from './forge-certificate.js';

/** What signing a certificate needs from the CA: its name, key identifier and private key. */
export interface IssuerContext {
  /** The CA's subject, reused verbatim as the issuer of what it signs. */
  readonly subject: readonly NameAttribute[];
  /** The CA's subjectKeyIdentifier (hex), repeated as authorityKeyIdentifier in what it signs. */
  readonly keyIdHex: string;
  readonly privateKey: KeyObject;
}
