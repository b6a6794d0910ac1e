import { createPublicKey, hkdfSync, type KeyObject, type webcrypto, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { issueAdminCertificateWith, type AdminCertificateRequest } from './admin-certificate.js';
import { createCaCertificate } from './ca-certificate.js';
import { createCrl, importCrlSigningKey, type RevokedCertificate } from './crl.js';
import { issueDeviceCertificateWith, type DeviceCertificateRequest } from './device-certificate.js';
import { PkiError } from './errors.js';
import type { IssuedCertificate } from './issued-certificate.js';
import type { IssuerContext } from './issuer-context.js';
import { generateRsaKeyPair, parsePrivateKeyPem, privateKeyToPem } from './keys.js';
import { issueServerCertificateWith, type ServerCertificateOptions } from './server-certificate.js';
import { days } from './validity.js';
import { x509 } from './x509.js';

export interface CreateFleetCaOptions {
  /** Default "Vigil Fleet CA". */
  readonly commonName?: string;
  readonly organization?: string;
  /** Default 10 years. */
  readonly validityMs?: number;
  /** RSA modulus size, default 3072 (NIST SP 800-57: 128-bit security for a long-lived root). */
  readonly keyBits?: number;
  readonly now?: Date;
}

export interface IssueCrlOptions {
  /** Must exceed every number this CA issued before; default: one more than the last one this object issued. */
  readonly crlNumber?: bigint;
  readonly now?: Date;
  /** nextUpdate - thisUpdate; default 7 days. */
  readonly validityMs?: number;
}

export const DEFAULT_CA_VALIDITY_MS = days(3650);
export const DEFAULT_CRL_VALIDITY_MS = days(7);

/**
 * The fleet certificate authority: the root of trust for every device
 * identity. node-forge assembles certificates (RSA only, hence an RSA CA),
 * node:crypto signs them, @peculiar/x509 writes the CRL.
 */
export class FleetCa {
  readonly certificate: X509Certificate;
  readonly #issuer: IssuerContext;
  readonly #crlIssuerName: x509.Name;
  #crlKey: Promise<webcrypto.CryptoKey> | undefined;
  #lastCrlNumber = 0n;

  private constructor(
    readonly certificatePem: string,
    private readonly privateKey: KeyObject,
  ) {
    this.certificate = new X509Certificate(certificatePem);
    if (!this.certificate.ca) throw new PkiError('invalid-certificate', 'the fleet CA certificate lacks basicConstraints cA=TRUE');
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!spki(createPublicKey(privateKey)).equals(spki(this.certificate.publicKey))) {
      throw new PkiError('key-mismatch', 'the CA private key does not match the CA certificate');
    }
    const parsed = new x509.X509Certificate(this.certificate.raw);
    const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    if (!ski) throw new PkiError('invalid-certificate', 'the fleet CA certificate has no subjectKeyIdentifier');
    this.#crlIssuerName = parsed.subjectName;
    this.#issuer = {
      subject: forge.pki.certificateFromPem(certificatePem).subject.attributes,
      keyIdHex: ski.keyId,
      privateKey,
    };
  }

  /** Generates a new CA key (node:crypto) and self-signed certificate. */
  static async create(options: CreateFleetCaOptions = {}): Promise<FleetCa> {
    const keys = await generateRsaKeyPair(options.keyBits ?? 3072);
    const cert = createCaCertificate(keys, {
      commonName: options.commonName ?? 'Vigil Fleet CA',
      ...(options.organization !== undefined ? { organization: options.organization } : {}),
      validityMs: options.validityMs ?? DEFAULT_CA_VALIDITY_MS,
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
    return new FleetCa(cert.pem, keys.privateKey);
  }

  /**
   * Loads a CA from its certificate and private key (PEM).
   * @throws PkiError 'invalid-certificate' | 'invalid-key' | 'key-mismatch'
   */
  static fromPem(certificatePem: string, privateKeyPem: string): FleetCa {
    const key = parsePrivateKeyPem(privateKeyPem, 'the fleet CA private key');
    try {
      return new FleetCa(certificatePem, key);
    } catch (err) {
      if (err instanceof PkiError) throw err;
      throw new PkiError('invalid-certificate', `cannot load the fleet CA certificate: ${(err as Error).message}`, { cause: err });
    }
  }

  /** PKCS#8 PEM of the CA key, for `writeSecretFile` only. */
  privateKeyPem(): string {
    return privateKeyToPem(this.privateKey);
  }

  /**
   * A 32-byte secret for `purpose`, derived from the CA key with HKDF-SHA256
   * (RFC 5869; the purpose is HKDF's info, so each purpose gets an
   * independent key and none reveals the CA key). Every server holding this
   * CA key derives the same secret: verifier replicas share the key that
   * seals challenges without another file to distribute and protect.
   */
  deriveKey(purpose: string): Buffer {
    const ikm = this.privateKey.export({ type: 'pkcs8', format: 'der' });
    return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), `vigil/${purpose}`, 32));
  }

  issueServerCertificate(options: ServerCertificateOptions): IssuedCertificate {
    return issueServerCertificateWith(this.#issuer, options);
  }

  /**
   * A short-lived device certificate for the key the device presented in its
   * bootstrap handshake. The caller (registrar) stores the returned serial.
   */
  issueDeviceCertificate(request: DeviceCertificateRequest): IssuedCertificate {
    return issueDeviceCertificateWith(this.#issuer, request);
  }

  /**
   * An admin client certificate (SAN URIs `urn:vigil:admin:<name>` and
   * `urn:vigil:role:<role>`, clientAuth only). The caller records the serial
   * in the store: the admin API accepts only recorded, unrevoked serials.
   */
  issueAdminCertificate(request: AdminCertificateRequest): IssuedCertificate {
    return issueAdminCertificateWith(this.#issuer, request);
  }

  /** A CRL listing `revoked`, PEM. The CRL number increases with every call on this object. */
  async issueCrl(revoked: readonly RevokedCertificate[], options: IssueCrlOptions = {}): Promise<string> {
    const crlNumber = options.crlNumber ?? this.#lastCrlNumber + 1n;
    const thisUpdate = options.now ?? new Date();
    const nextUpdate = new Date(thisUpdate.getTime() + (options.validityMs ?? DEFAULT_CRL_VALIDITY_MS));
    this.#crlKey ??= importCrlSigningKey(this.privateKey.export({ type: 'pkcs8', format: 'der' }));
    const pem = await createCrl(
      { issuerName: this.#crlIssuerName, keyIdHex: this.#issuer.keyIdHex, signingKey: await this.#crlKey },
      revoked,
      { crlNumber, thisUpdate, nextUpdate },
    );
    if (crlNumber > this.#lastCrlNumber) this.#lastCrlNumber = crlNumber;
    return pem;
  }
}

