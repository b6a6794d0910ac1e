import type { KeyObject } from 'node:crypto';
import { signCertificate, type NameAttribute } from './forge-certificate.js';
import { randomSerial } from './serial.js';
import { validityWindow } from './validity.js';
import type { IssuedCertificate } from './issued-certificate.js';

export interface CaCertificateOptions {
  readonly commonName: string;
  readonly organization?: string;
  readonly validityMs: number;
  readonly now?: Date;
}

/**
 * The self-signed fleet root (RFC 5280 §4.2.1.9 basicConstraints cA, critical;
 * §4.2.1.3 keyUsage keyCertSign + cRLSign, critical). pathLen 0: the fleet CA
 * signs end-entity certificates only, never another CA.
 */
export function createCaCertificate(keys: { privateKey: KeyObject; publicKey: KeyObject }, options: CaCertificateOptions): IssuedCertificate {
  const name: NameAttribute[] = [{ shortName: 'CN', value: options.commonName }];
  if (options.organization) name.push({ shortName: 'O', value: options.organization });
  const { notBefore, notAfter } = validityWindow(options.now ?? new Date(), options.validityMs);
  const serial = randomSerial();
  const pem = signCertificate(
    {
      serial,
      subject: name,
      issuer: name,
      publicKey: keys.publicKey,
      notBefore,
      notAfter,
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        { name: 'subjectKeyIdentifier' },
      ],
    },
    keys.privateKey,
  );
  return { pem, serial, notBefore, notAfter };
}
