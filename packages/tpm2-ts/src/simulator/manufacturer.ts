import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SimulatorError } from './errors.js';

/** What the platform certificates say about the platform (swtpm_localca's --platform-* options). */
export interface PlatformDescription {
  readonly manufacturer: string;
  readonly model: string;
  readonly version: string;
}

/** The manufacturer CA's certificates (PEM): what a verifier configures as the EK trust anchor. */
export interface ManufacturerCertificates {
  /** The self-signed root (`swtpm-localca-rootca-cert.pem`). */
  readonly rootPem: string;
  /** The intermediate that signs EK and platform certificates (`issuercert.pem`). */
  readonly issuerPem: string;
}

const ROOT_CERT = 'swtpm-localca-rootca-cert.pem';
const ISSUER_CERT = 'issuercert.pem';

/**
 * A private TPM manufacturer: a `swtpm_localca` certificate authority kept
 * in `dir` that signs the EK certificates (TCG EK Credential Profile) of
 * every TPM manufactured with it, like a TPM vendor's CA does for its
 * chips. swtpm_localca creates its root and issuing CA in `dir/ca` the first
 * time a TPM is manufactured, so `certificates()` is available only after
 * the first `manufactureTpm`. swtpm_localca serialises its own use with a
 * lock file, so TPMs of one manufacturer may be manufactured concurrently.
 *
 * The CA keys are kept unencrypted in `dir/ca` (0700): this is for test
 * fleets and demonstrations, not for issuing certificates anyone else trusts.
 */
export class SwtpmManufacturer {
  private constructor(
    /** The manufacturer's folder: swtpm_localca configuration and `ca/`. */
    readonly dir: string,
    /** `swtpm_localca` configuration file (statedir, signing key, issuer certificate, serial counter). */
    readonly localcaConfig: string,
    /** `swtpm_localca` options file (platform certificate fields). */
    readonly localcaOptions: string,
  ) {}

  /** Creates (or reuses) a manufacturer in `dir`. */
  static async open(dir: string, platform: PlatformDescription = { manufacturer: 'Vigil', model: 'vigil-swtpm', version: '2.1' }): Promise<SwtpmManufacturer> {
    const root = resolve(dir);
    const caDir = join(root, 'ca');
    await mkdir(caDir, { recursive: true, mode: 0o700 });
    const config = join(root, 'swtpm-localca.conf');
    const options = join(root, 'swtpm-localca.options');
    await writeFile(
      config,
      [`statedir = ${caDir}`, `signingkey = ${caDir}/signkey.pem`, `issuercert = ${caDir}/${ISSUER_CERT}`, `certserial = ${caDir}/certserial`, ''].join('\n'),
    );
    await writeFile(
      options,
      [`--platform-manufacturer ${platform.manufacturer}`, `--platform-version ${platform.version}`, `--platform-model ${platform.model}`, ''].join('\n'),
    );
    return new SwtpmManufacturer(root, config, options);
  }

  /** True once the CA exists (after the first TPM was manufactured). */
  get hasCertificates(): boolean {
    return existsSync(join(this.dir, 'ca', ROOT_CERT)) && existsSync(join(this.dir, 'ca', ISSUER_CERT));
  }

  /** The root and issuing CA certificates; fails before the first TPM was manufactured. */
  async certificates(): Promise<ManufacturerCertificates> {
    if (!this.hasCertificates) {
      throw new SimulatorError('manufacture-failed', `manufacturer ${this.dir} has no CA yet: manufacture a TPM with it first`);
    }
    const [rootPem, issuerPem] = await Promise.all([readFile(join(this.dir, 'ca', ROOT_CERT), 'utf8'), readFile(join(this.dir, 'ca', ISSUER_CERT), 'utf8')]);
    return { rootPem, issuerPem };
  }
}
