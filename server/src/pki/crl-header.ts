import { verify } from 'node:crypto';
import { readTextIfExists } from '@vigil/runtime';
import { CRL_NUMBER_OID_DER, parseDerNonNegativeInteger } from './crl.js';
import { PkiError } from './errors.js';
import type { FleetCa } from './fleet-ca.js';

/** What the server needs to know about the CRL on disk: how it is numbered and how fresh it is. */
export interface CrlHeader {
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
}

/**
 * The cRLNumber, thisUpdate and nextUpdate of a CRL this CA signed, read
 * without decoding its entries. A CRL grows with the fleet's revocations
 * and @peculiar/x509 refuses to parse one past ~1,600 entries ("Maximum
 * ASN.1 node count exceeded"), so nothing on the server's start or revoke
 * path decodes a whole CRL: this walks the DER (X.690 §8.1) of RFC 5280
 * §5.1's CertificateList by element lengths, stepping over
 * revokedCertificates in one jump, and checks the signature over
 * tbsCertList with node:crypto (a hash of the bytes, whatever their number).
 * Work is a handful of element headers, bounded by the input's length.
 *
 * @throws PkiError 'invalid-crl' (not PEM/DER of a CertificateList, no
 *   cRLNumber, or not signed by this CA)
 */
export function readCrlHeader(pem: string, ca: FleetCa): CrlHeader {
  const der = pemBody(pem);
  const list = element(der, 0, der.length, SEQUENCE, 'CertificateList');
  if (list.end !== der.length) invalid('trailing bytes after the CertificateList');
  const tbs = element(der, list.contentStart, list.end, SEQUENCE, 'tbsCertList');
  const algorithm = element(der, tbs.end, list.end, SEQUENCE, 'signatureAlgorithm');
  const signature = element(der, algorithm.end, list.end, BIT_STRING, 'signatureValue');
  if (signature.end !== list.end) invalid('trailing bytes in the CertificateList');
  // BIT STRING content: one octet of unused bits (0 for a signature), then the signature.
  if (signature.end - signature.contentStart < 2 || der[signature.contentStart] !== 0) invalid('malformed signatureValue');
  const signed = verify('sha256', der.subarray(tbs.start, tbs.end), ca.certificate.publicKey, der.subarray(signature.contentStart + 1, signature.end));
  if (!signed) invalid('the CRL is not signed by the fleet CA');

  // §5.1.2: version (v2) · signature · issuer · thisUpdate · nextUpdate? · revokedCertificates? · [0] crlExtensions?
  let signatureField = element(der, tbs.contentStart, tbs.end, undefined, 'version');
  if (signatureField.tag === INTEGER) signatureField = element(der, signatureField.end, tbs.end, SEQUENCE, 'signature');
  else if (signatureField.tag !== SEQUENCE) invalid('tbsCertList starts with neither version nor signature');
  const issuer = element(der, signatureField.end, tbs.end, SEQUENCE, 'issuer');
  const thisUpdateField = element(der, issuer.end, tbs.end, undefined, 'thisUpdate');
  const thisUpdate = derTime(der, thisUpdateField);
  let nextUpdate: Date | undefined;
  let crlNumber: bigint | undefined;
  // Each step moves past one whole element: revokedCertificates, however long, is one step.
  let at = thisUpdateField.end;
  while (at < tbs.end) {
    const field = element(der, at, tbs.end, undefined, 'tbsCertList field');
    if (field.tag === UTC_TIME || field.tag === GENERALIZED_TIME) nextUpdate = derTime(der, field);
    else if (field.tag === EXPLICIT_0) crlNumber = findCrlNumber(der, field);
    at = field.end;
  }
  if (crlNumber === undefined) invalid('the CRL has no cRLNumber extension');
  return { crlNumber, thisUpdate, nextUpdate };
}

/** `readCrlHeader` of the file at `path`; undefined when there is no file. */
export async function readCrlHeaderFile(path: string, ca: FleetCa): Promise<CrlHeader | undefined> {
  const pem = await readTextIfExists(path);
  return pem === undefined ? undefined : readCrlHeader(pem, ca);
}

const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const BOOLEAN = 0x01;
const SEQUENCE = 0x30;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const EXPLICIT_0 = 0xa0;

interface Element {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function invalid(message: string): never {
  throw new PkiError('invalid-crl', `cannot read the CRL: ${message}`);
}

function pemBody(pem: string): Uint8Array {
  const match = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/.exec(pem);
  if (match === null) invalid('no "X509 CRL" PEM block');
  return Buffer.from(match[1]!, 'base64');
}

/**
 * One DER element with a single-octet tag at `start`, ending at or before
 * `limit`. Definite lengths of at most 4 octets only (DER, X.690 §10.1).
 */
function element(der: Uint8Array, start: number, limit: number, expected: number | undefined, what: string): Element {
  if (start + 2 > limit) invalid(`${what} is missing`);
  const tag = der[start]!;
  if (expected !== undefined && tag !== expected) invalid(`${what} has tag 0x${tag.toString(16)}, expected 0x${expected.toString(16)}`);
  if ((tag & 0x1f) === 0x1f) invalid(`${what} has a multi-octet tag`);
  let length = der[start + 1]!;
  let contentStart = start + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) invalid(`${what} has an indefinite or oversized length`);
    if (contentStart + octets > limit) invalid(`${what} length runs past its container`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) invalid(`${what} runs past its container`);
  return { tag, start, contentStart, end };
}

/** Extensions ::= SEQUENCE OF Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (§4.1). */
function findCrlNumber(der: Uint8Array, extensions: Element): bigint | undefined {
  const list = element(der, extensions.contentStart, extensions.end, SEQUENCE, 'crlExtensions');
  for (let at = list.contentStart; at < list.end; ) {
    const extension = element(der, at, list.end, SEQUENCE, 'Extension');
    const id = element(der, extension.contentStart, extension.end, OID, 'extnID');
    let value = element(der, id.end, extension.end, undefined, 'extnValue');
    if (value.tag === BOOLEAN) value = element(der, value.end, extension.end, OCTET_STRING, 'extnValue');
    if (value.tag !== OCTET_STRING) invalid('extnValue is not an OCTET STRING');
    if (Buffer.from(der.subarray(id.start, id.end)).equals(CRL_NUMBER_OID_DER)) {
      return parseDerNonNegativeInteger(der.subarray(value.contentStart, value.end));
    }
    at = extension.end;
  }
  return undefined;
}

/** UTCTime `YYMMDDHHMMSSZ` (§4.1.2.5.1: YY < 50 is 20YY) or GeneralizedTime `YYYYMMDDHHMMSSZ`. */
function derTime(der: Uint8Array, e: Element): Date {
  const text = Buffer.from(der.subarray(e.contentStart, e.end)).toString('latin1');
  const m = e.tag === UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : e.tag === GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (m === null) invalid(`malformed time ${JSON.stringify(text.slice(0, 20))}`);
  let year = Number(m[1]);
  if (e.tag === UTC_TIME) year += year < 50 ? 2000 : 1900;
  const time = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(time)) invalid('malformed time');
  return new Date(time);
}
