import { webcrypto } from 'node:crypto';
import { PkiError } from './errors.js';
import { normalizeSerial } from './serial.js';
import { x509 } from './x509.js';

/** RFC 5280 §5.3.1 CRLReason, the subset a fleet verifier has reason to use. */
export type CrlReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'privilegeWithdrawn';

const REASON_CODES: Readonly<Record<CrlReason, x509.X509CrlReason>> = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
  privilegeWithdrawn: x509.X509CrlReason.privilegeWithdrawn,
};

/** The reason name for a CRL reason code, if it is one this CA writes. */
export function crlReasonName(code: number): CrlReason | undefined {
  for (const [name, value] of Object.entries(REASON_CODES)) if (value === code) return name as CrlReason;
  return undefined;
}

export interface RevokedCertificate {
  /** Certificate serial, hex (any case, with or without leading zeros). */
  readonly serial: string;
  readonly revokedAt: Date;
  readonly reason?: CrlReason;
}

/** OID of the cRLNumber extension (RFC 5280 §5.2.3). */
export const CRL_NUMBER_OID = '2.5.29.20';
/** The same OID as a DER element (06 03 55 1D 14), for readers that walk the DER. */
export const CRL_NUMBER_OID_DER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]);
/** §5.2.3: CRL numbers are at most 20 octets. */
const MAX_CRL_NUMBER = (1n << 159n) - 1n;

export interface CrlSigner {
  /** The CA's subject Name, byte-identical to the certificate's so that relying parties match it. */
  readonly issuerName: x509.Name;
  /** The CA's subject key identifier (hex) for the authorityKeyIdentifier extension (§5.2.1). */
  readonly keyIdHex: string;
  /** The CA private key imported into WebCrypto as RSASSA-PKCS1-v1_5 / SHA-256. */
  readonly signingKey: webcrypto.CryptoKey;
}

export interface CrlOptions {
  /** Monotonically increasing per CA (§5.2.3); the caller persists it. */
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

const SIGNING_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** Imports a node:crypto private key (PKCS#8) for @peculiar/x509, which signs through WebCrypto. */
export async function importCrlSigningKey(pkcs8Der: Uint8Array): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', pkcs8Der, SIGNING_ALGORITHM, false, ['sign']);
}

/**
 * A v2 CRL (RFC 5280 §5) listing `revoked`, with cRLNumber and
 * authorityKeyIdentifier extensions, signed sha256WithRSAEncryption. PEM.
 */
export async function createCrl(signer: CrlSigner, revoked: readonly RevokedCertificate[], options: CrlOptions): Promise<string> {
  if (options.crlNumber < 0n || options.crlNumber > MAX_CRL_NUMBER) {
    throw new PkiError('invalid-crl', `CRL number ${options.crlNumber} is outside 0..2^159-1`);
  }
  if (!(options.nextUpdate.getTime() > options.thisUpdate.getTime())) {
    throw new PkiError('invalid-option', 'CRL nextUpdate must be later than thisUpdate');
  }
  const seen = new Set<string>();
  const entries: x509.X509CrlEntryParams[] = [];
  for (const r of revoked) {
    const serial = normalizeSerial(r.serial);
    if (serial === undefined) throw new PkiError('invalid-option', `revoked serial ${JSON.stringify(r.serial.slice(0, 80))} is not hex`);
    if (Number.isNaN(r.revokedAt.getTime())) throw new PkiError('invalid-option', `revocation date of ${serial} is invalid`);
    if (seen.has(serial)) continue;
    seen.add(serial);
    entries.push({
      serialNumber: serial,
      revocationDate: r.revokedAt,
      ...(r.reason !== undefined ? { reason: REASON_CODES[r.reason] } : {}),
    });
  }
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: signer.issuerName,
      thisUpdate: options.thisUpdate,
      nextUpdate: options.nextUpdate,
      signingAlgorithm: SIGNING_ALGORITHM,
      signingKey: signer.signingKey,
      entries,
      extensions: [
        new x509.AuthorityKeyIdentifierExtension(signer.keyIdHex),
        new x509.Extension(CRL_NUMBER_OID, false, derInteger(options.crlNumber)),
      ],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CrlGenerator.create>[1],
  );
  // RFC 7468 §5: the PEM label of a CRL is "X509 CRL" (what OpenSSL reads);
  // @peculiar/x509 would write "CRL".
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/** DER INTEGER for a non-negative bigint (X.690 §8.3: minimal two's complement). */
function derInteger(value: bigint): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  let body = Buffer.from(hex, 'hex');
  if ((body[0]! & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/** Reads a DER INTEGER written by `derInteger`; anything else is an invalid CRL. */
export function parseDerNonNegativeInteger(der: Uint8Array): bigint {
  const len = der[1];
  if (der[0] !== 0x02 || len === undefined || len === 0 || len > 21 || der.length !== 2 + len || (der[2]! & 0x80) !== 0) {
    throw new PkiError('invalid-crl', 'cRLNumber is not a small non-negative DER INTEGER');
  }
  return BigInt('0x' + Buffer.from(der.subarray(2)).toString('hex'));
}
