import { createPrivateKey, X509Certificate } from 'node:crypto';
import { EnrollmentError } from './errors.js';

/** The device URI the fleet CA puts in the SAN (see server/src/pki). */
const DEVICE_URI_PREFIX = 'urn:vigil:device:';

export interface AcceptedCertificate {
  /** Lowercase hex, even length, no leading zero octets: the form the server stores. */
  readonly serial: string;
  readonly notAfter: number;
}

/**
 * Checks the certificate the server issued before the agent keeps it: it is
 * for the agent's own key, signed by the fleet CA the agent trusts (the one
 * the broker's certificate was verified against), currently valid, and names
 * exactly the device id the result announced. Anything else is a `protocol`
 * failure: keeping it would leave the agent unable to connect.
 */
export function acceptIssuedCertificate(certificatePem: string, keyPem: string, caPem: string, deviceId: string, now: number): AcceptedCertificate {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
    ca = new X509Certificate(caPem);
  } catch (err) {
    throw new EnrollmentError('protocol', `the issued certificate cannot be parsed: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new EnrollmentError('protocol', 'the issued certificate is not for this agent’s key');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new EnrollmentError('protocol', 'the issued certificate is not signed by the fleet CA given with --ca');
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (!(notBefore <= now && now < notAfter)) throw new EnrollmentError('protocol', `the issued certificate is not valid now (${cert.validFrom} to ${cert.validTo})`);
  const uris = (cert.subjectAltName ?? '').split(', ').filter((entry) => entry.startsWith(`URI:${DEVICE_URI_PREFIX}`));
  if (uris.length !== 1 || uris[0] !== `URI:${DEVICE_URI_PREFIX}${deviceId}`) {
    throw new EnrollmentError('protocol', `the issued certificate does not name device ${deviceId}`);
  }
  return { serial: canonicalSerial(cert.serialNumber), notAfter };
}

/** The server's canonical serial form (server/src/pki/serial.ts `normalizeSerial`): lowercase, even length, no leading `00` octets. */
function canonicalSerial(hex: string): string {
  let s = hex.toLowerCase();
  if (s.length % 2 === 1) s = `0${s}`;
  while (s.length > 2 && s.startsWith('00')) s = s.slice(2);
  return s;
}
