import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { x509 } from '../pki/x509.js';

/** TCG EK Credential Profile 2.0 §3.2.16: tcg-kp-EKCertificate. */
export const TCG_KP_EK_CERTIFICATE = '2.23.133.8.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/**
 * Extensions an EK certificate may mark critical (RFC 5280 §4.2: a relying
 * party must refuse a certificate with a critical extension it does not
 * process). The TCG EK profile makes the SAN critical when the subject is
 * empty (§3.2.9, as swtpm does) and keyUsage and basicConstraints critical.
 */
const UNDERSTOOD_CRITICAL = new Set([
  '2.5.29.9', // subjectDirectoryAttributes (TPM specification level)
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName (TPM manufacturer, model, version as a directoryName)
  '2.5.29.19', // basicConstraints
  '2.5.29.32', // certificatePolicies
  '2.5.29.37', // extKeyUsage
]);

/** A chain of at most this many CA certificates above the EK certificate. */
const MAX_PATH = 6;

export type EkCertificateCheck =
  | { readonly ok: true; readonly certificate: X509Certificate; readonly path: readonly X509Certificate[] }
  | { readonly ok: false; readonly message: string };

/**
 * The TPM manufacturer CAs an EK certificate must chain to (the RATS
 * Endorser's trust anchors). Self-signed certificates in the bundle are the
 * roots; any other CA certificate in it may serve as an intermediate but
 * must itself chain to a root of the bundle, as OpenSSL's default
 * verification (no partial chains) would require. The device sends only its
 * EK certificate, so the bundle must hold the intermediates too.
 */
export class EkTrustStore {
  readonly #cas: readonly X509Certificate[];
  readonly #roots: ReadonlySet<X509Certificate>;

  private constructor(cas: readonly X509Certificate[]) {
    this.#cas = cas;
    this.#roots = new Set(cas.filter((c) => c.checkIssued(c) && c.verify(c.publicKey)));
  }

  /** From PEM texts (each may hold several certificates); certificates that are not CAs are ignored. */
  static fromPem(pems: readonly string[]): EkTrustStore {
    const cas: X509Certificate[] = [];
    for (const pem of pems) {
      for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
        const cert = new X509Certificate(block);
        if (cert.ca) cas.push(cert);
      }
    }
    return new EkTrustStore(cas);
  }

  /**
   * Reads the configured bundle files (`enrollment.manufacturerCaFiles`),
   * relative paths against `baseDir` (the data directory).
   * @throws ConfigError naming the file when one cannot be read or holds no CA certificate
   */
  static async fromFiles(files: readonly string[], baseDir: string): Promise<EkTrustStore> {
    const pems: string[] = [];
    for (const file of files) {
      const path = isAbsolute(file) ? file : resolve(baseDir, file);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new ConfigError('enrollment.manufacturerCaFiles', 'configuration', `cannot read ${path}: ${(err as Error).message}`);
      }
      let store: EkTrustStore;
      try {
        store = EkTrustStore.fromPem([text]);
      } catch (err) {
        throw new ConfigError('enrollment.manufacturerCaFiles', 'configuration', `${path}: not a PEM certificate bundle: ${(err as Error).message}`);
      }
      if (store.size === 0) throw new ConfigError('enrollment.manufacturerCaFiles', 'configuration', `${path} holds no CA certificate`);
      pems.push(text);
    }
    return EkTrustStore.fromPem(pems);
  }

  /** Number of CA certificates (roots and intermediates). */
  get size(): number {
    return this.#cas.length;
  }

  /** Number of roots (self-signed CA certificates). */
  get rootCount(): number {
    return this.#roots.size;
  }

  /**
   * Checks an EK certificate (DER) at time `now`: parseable; not a CA;
   * within its validity (TCG EK certificates often end 9999-12-31, RFC 5280
   * §4.1.2.5's "no expiry"); no critical extension we do not process; an
   * extKeyUsage, if present, allows EK use; and a path of signatures through
   * bundle CAs, each a CA within its validity, to a bundle root.
   */
  verify(der: Uint8Array, now: Date): EkCertificateCheck {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(Buffer.from(der));
    } catch (err) {
      return { ok: false, message: `the EK certificate cannot be parsed: ${(err as Error).message}` };
    }
    if (leaf.ca) return { ok: false, message: 'the EK certificate is a CA certificate' };
    const window = outsideValidity(leaf, now);
    if (window !== undefined) return { ok: false, message: `the EK certificate ${window}` };
    const critical = unknownCriticalExtension(leaf);
    if (critical !== undefined) return { ok: false, message: `the EK certificate has a critical extension ${critical} that is not understood` };
    const eku = leaf.keyUsage; // node names the extKeyUsage OIDs `keyUsage`
    if (eku !== undefined && eku.length > 0 && !eku.includes(TCG_KP_EK_CERTIFICATE) && !eku.includes(ANY_EXTENDED_KEY_USAGE)) {
      return { ok: false, message: `the EK certificate's extKeyUsage (${eku.join(', ')}) does not include tcg-kp-EKCertificate` };
    }
    const why: string[] = [];
    const path = this.#pathFrom(leaf, now, new Set([leaf.fingerprint256]), why);
    if (path !== undefined) return { ok: true, certificate: leaf, path };
    const detail = why.length > 0 ? why[0]! : `no manufacturer CA in the bundle issued it (issuer: ${oneLine(leaf.issuer)})`;
    return { ok: false, message: `the EK certificate does not chain to a trusted manufacturer CA: ${detail}` };
  }

  #pathFrom(cert: X509Certificate, now: Date, seen: Set<string>, why: string[]): X509Certificate[] | undefined {
    if (seen.size > MAX_PATH) return undefined;
    for (const issuer of this.#cas) {
      if (seen.has(issuer.fingerprint256)) continue;
      if (!cert.checkIssued(issuer)) continue;
      const window = outsideValidity(issuer, now);
      if (window !== undefined) {
        why.push(`its issuer ${oneLine(issuer.subject)} ${window}`);
        continue;
      }
      if (!cert.verify(issuer.publicKey)) {
        why.push(`the signature by ${oneLine(issuer.subject)} does not verify`);
        continue;
      }
      if (this.#roots.has(issuer)) return [issuer];
      const rest = this.#pathFrom(issuer, now, new Set([...seen, issuer.fingerprint256]), why);
      if (rest !== undefined) return [issuer, ...rest];
    }
    return undefined;
  }
}

function outsideValidity(cert: X509Certificate, now: Date): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) return 'has an unreadable validity period';
  if (now.getTime() < from) return `is not valid before ${new Date(from).toISOString()}`;
  if (now.getTime() > to) return `expired at ${new Date(to).toISOString()}`;
  return undefined;
}

/** The OID of the first critical extension not in UNDERSTOOD_CRITICAL, or `(unparseable extensions)`. */
function unknownCriticalExtension(cert: X509Certificate): string | undefined {
  let extensions: readonly x509.Extension[];
  try {
    extensions = new x509.X509Certificate(cert.raw).extensions;
  } catch {
    return '(unparseable extensions)';
  }
  return extensions.find((e) => e.critical && !UNDERSTOOD_CRITICAL.has(e.type))?.type;
}

function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ').slice(0, 200);
}
