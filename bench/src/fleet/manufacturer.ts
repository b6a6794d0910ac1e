/**
 * A simulated TPM manufacturer: a CA that certifies the EKs of software
 * TPMs the way a vendor certifies a chip's EK at the factory (TCG EK
 * Credential Profile: an end-entity certificate for the EK public key, with
 * extKeyUsage tcg-kp-EKCertificate). A server configured to trust this CA
 * (`enrollment.manufacturerCaFiles`) enrolls simulated devices through its
 * real registrar. Its certificates are labelled "Vigil simulated TPM
 * manufacturer" so they are never mistaken for a vendor's.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its codecs through tsyringe, which needs it first
import * as x509 from '@peculiar/x509';
import { createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import type { SoftwareTpm } from './software-tpm.js';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** TCG EK Credential Profile 2.0 §3.2.16. */
const TCG_KP_EK_CERTIFICATE = '2.23.133.8.1';
type Crypto = Parameters<typeof x509.X509CertificateGenerator.create>[1];
/** The CryptoKey type @peculiar/x509 declares (the DOM's), which node:crypto's webcrypto key satisfies at run time. */
type CryptoKeyOf<F> = F extends (params: infer P, ...rest: never[]) => unknown ? (P extends { signingKey: infer K } ? K : never) : never;

function serial(): string {
  const s = randomBytes(16);
  s[0] = (s[0]! & 0x7f) || 0x01; // positive, no leading zero octet (RFC 5280 §4.1.2.2)
  return s.toString('hex');
}

export class SimManufacturer {
  readonly #name: string;
  readonly #key: webcrypto.CryptoKey;

  private constructor(
    readonly certificatePem: string,
    name: string,
    key: webcrypto.CryptoKey,
  ) {
    this.#name = name;
    this.#key = key;
  }

  /** A new manufacturer root CA (ECDSA P-256), valid for ten years. */
  static async create(name = 'Vigil simulated TPM manufacturer'): Promise<SimManufacturer> {
    // DER from the generating job itself: exporting its KeyObjects can deadlock in Node 20 (generateKeyPair in tpm2-ts).
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
    const subtle = webcrypto.subtle;
    const privateKey = await subtle.importKey('pkcs8', keys.privateKey, ECDSA_P256, false, ['sign']);
    const publicKey = await subtle.importKey('spki', keys.publicKey, ECDSA_P256, true, ['verify']);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: `CN=${name}`,
        notBefore: new Date(now - 3_600_000),
        notAfter: new Date(now + 10 * 365 * 86_400_000),
        keys: { privateKey, publicKey } as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
        signingAlgorithm: ECDSA_P256,
        extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
      },
      webcrypto as unknown as Crypto,
    );
    return new SimManufacturer(cert.toString('pem'), name, privateKey);
  }

  /** The EK certificate (DER) a factory would write to the TPM's NV for `tpm`'s EK. */
  async ekCertificate(tpm: SoftwareTpm): Promise<Uint8Array> {
    const spki = createPublicKey(tpm.ekPrivateKey).export({ type: 'spki', format: 'der' });
    const publicKey = await webcrypto.subtle.importKey('spki', spki, { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        issuer: `CN=${this.#name}`,
        subject: '',
        notBefore: new Date(now - 3_600_000),
        notAfter: new Date(now + 10 * 365 * 86_400_000),
        publicKey: publicKey as unknown as x509.PublicKeyType,
        signingKey: this.#key as unknown as CryptoKeyOf<typeof x509.X509CertificateGenerator.create>,
        signingAlgorithm: ECDSA_P256,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          // An EK decrypts (it is a storage key): keyAgreement for ECC EKs (EK profile §3.2.8).
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true),
          new x509.ExtendedKeyUsageExtension([TCG_KP_EK_CERTIFICATE], false),
          // The TCG profile names the TPM in a critical SAN directoryName when the subject is empty (§3.2.9).
          new x509.SubjectAlternativeNameExtension([{ type: 'dn', value: 'CN=Vigil simulated TPM' }], true),
        ],
      },
      webcrypto as unknown as Crypto,
    );
    return new Uint8Array(cert.rawData);
  }
}
