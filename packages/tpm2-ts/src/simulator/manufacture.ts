import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SimulatorError } from './errors.js';
import type { SwtpmManufacturer } from './manufacturer.js';
import { runTool } from './run.js';
import { findSwtpmTools, type SwtpmTools } from './tools.js';

/** DER EK certificates swtpm_setup wrote to NV, by the key names it gives them. */
export interface ManufacturedEkCertificates {
  /** RSA 2048 EK certificate (NV 0x01c00002, TCG template L-1). */
  readonly rsa2048?: Uint8Array;
  /** ECC NIST P-384 EK certificate (NV 0x01c00016, TCG template H-3). */
  readonly secp384r1?: Uint8Array;
}

export interface ManufactureOptions {
  /** Where the TPM's persistent state (`tpm2-00.permall`) is written; created if missing, overwritten if present. */
  readonly stateDir: string;
  readonly manufacturer: SwtpmManufacturer;
  /** PCR banks to allocate (default sha1 and sha256, as most PC firmware does). */
  readonly pcrBanks?: readonly string[];
  readonly tools?: Partial<SwtpmTools>;
}

export interface ManufacturedTpm {
  readonly stateDir: string;
  readonly pcrBanks: readonly string[];
  readonly ekCertificates: ManufacturedEkCertificates;
}

const BANK = /^(?:sha1|sha256|sha384|sha512|sm3-256)$/;

/**
 * Manufactures a TPM 2.0 the way a TPM vendor's production line does, with
 * swtpm_setup: a new endorsement primary seed, the EKs (RSA 2048 and ECC
 * P-384) persisted at their TCG handles, EK certificates signed by the
 * manufacturer's CA written to their NV indices (TCG EK Credential Profile
 * §2.2.1.4), a platform certificate, and the PCR banks allocated. Every call
 * makes a TPM with its own seed, hence its own EKs. Takes a second or two
 * (key generation and signing).
 */
export async function manufactureTpm(options: ManufactureOptions): Promise<ManufacturedTpm> {
  const banks = [...(options.pcrBanks ?? ['sha1', 'sha256'])];
  const bad = banks.filter((b) => !BANK.test(b));
  if (banks.length === 0 || bad.length > 0) {
    throw new SimulatorError('manufacture-failed', `unknown PCR bank${bad.length === 1 ? '' : 's'} ${bad.join(', ') || '(none given)'}: use sha1, sha256, sha384, sha512`);
  }
  const tools = await findSwtpmTools(options.tools);
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const m = options.manufacturer;
  // One configuration and certificate folder per call: manufactures of one manufacturer may run concurrently.
  const work = await mkdtemp(join(m.dir, `setup-${randomBytes(4).toString('hex')}-`));
  try {
    const setupConfig = join(work, 'swtpm_setup.conf');
    await writeFile(
      setupConfig,
      [
        `create_certs_tool = ${tools.swtpmLocalca}`,
        `create_certs_tool_config = ${m.localcaConfig}`,
        `create_certs_tool_options = ${m.localcaOptions}`,
        `active_pcr_banks = ${banks.join(',')}`,
        '',
      ].join('\n'),
    );
    const certDir = join(work, 'ek-certs');
    await mkdir(certDir);
    const r = await runTool(tools.swtpmSetup, [
      '--tpm2',
      '--tpmstate',
      stateDir,
      '--tpm',
      `${tools.swtpm} socket`,
      '--create-ek-cert',
      '--create-platform-cert',
      '--config',
      setupConfig,
      '--pcr-banks',
      banks.join(','),
      '--write-ek-cert-files',
      certDir,
      '--overwrite',
    ]).catch((err: unknown) => {
      throw new SimulatorError('manufacture-failed', `cannot run ${tools.swtpmSetup}: ${(err as Error).message}`, undefined, { cause: err });
    });
    if (r.code !== 0) throw new SimulatorError('manufacture-failed', `swtpm_setup failed (exit ${r.code}) for ${stateDir}`, r.output);
    const ekCertificates: { rsa2048?: Uint8Array; secp384r1?: Uint8Array } = {};
    for (const file of await readdir(certDir)) {
      const name = /^ek-(rsa2048|secp384r1)\.crt$/.exec(file)?.[1] as 'rsa2048' | 'secp384r1' | undefined;
      if (name !== undefined) ekCertificates[name] = new Uint8Array(await readFile(join(certDir, file)));
    }
    return { stateDir, pcrBanks: banks, ekCertificates };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
