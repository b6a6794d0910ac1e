import type { Command } from 'commander';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { dataDir, defaultDataRoot, type DataDir } from '../../datadir.js';
import type { ConfigOverride, ServerConfig } from '../../config/index.js';
import { startupError } from '../../config/startup-errors.js';
import { CliError, ExitCode } from '../exit-codes.js';

interface InitOptions {
  readonly data: string;
  readonly force?: boolean;
  readonly san?: string[];
}

export function register(program: Command): void {
  program
    .command('init')
    .description('create the data directory: fleet CA, broker certificate, empty CRL, commented config.yaml and the database')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--force', 'replace an existing fleet CA: every device certificate issued so far stops being trusted')
    .option('--san <name...>', 'host name or IP address devices use to reach the broker (repeatable); default: localhost, 127.0.0.1, ::1 and this host name')
    .action(async (options: InitOptions) => {
      const paths = dataDir(options.data);
      try {
        await init(paths, options);
      } catch (err) {
        startupError(err, paths.root);
      }
    });
}

async function init(paths: DataDir, options: InitOptions): Promise<void> {
  // Loaded here, not at the top: every vigil-server command registers at
  // start-up, and the PKI, config compiler and store would slow them all.
  const [{ loadServerConfig, renderConfigYaml }, { days, FleetCa, issueServerCredentialFiles, parseServerSans, reissueCrlFile, writeFleetCaFiles }, { openSqliteStore }] =
    await Promise.all([import('../../config/index.js'), import('../../pki/index.js'), import('../../store/index.js')]);
  if (!options.force && (existsSync(paths.caKey) || existsSync(paths.caCert))) {
    throw new CliError(
      `${paths.root} already has a fleet CA; refusing to replace it (--force replaces it and invalidates every device certificate)`,
      ExitCode.Usage,
    );
  }
  const configExisted = existsSync(paths.config);
  const overrides: ConfigOverride[] = options.san ? [{ path: 'pki.serverSans', value: options.san, flag: '--san' }] : [];
  const config = await loadServerConfig({ configPath: paths.config, overrides });
  const sanFromEnv = process.env['VIGIL_PKI_SERVER_SANS'] !== undefined;
  const effective: ServerConfig =
    configExisted || options.san || sanFromEnv ? config : { ...config, pki: { ...config.pki, serverSans: withHostname(config.pki.serverSans) } };

  parseServerSans(effective.pki.serverSans); // refuse a bad --san before anything is written

  // The data directory holds the CA key: owner only, even if it already existed.
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  await chmod(paths.root, 0o700);

  const ca = await FleetCa.create({
    commonName: effective.pki.caCommonName,
    validityMs: days(effective.pki.caValidityDays),
    keyBits: effective.pki.caKeyBits,
  });
  await writeFleetCaFiles(paths, ca);
  const server = await issueServerCredentialFiles(paths, ca, {
    sans: effective.pki.serverSans,
    validityMs: days(effective.pki.serverCertificateValidityDays),
  });
  // A CRL from a replaced CA is signed by the wrong key: start the numbering afresh.
  await rm(paths.crl, { force: true });
  await reissueCrlFile(paths.crl, ca, [], { validityMs: days(effective.pki.crlValidityDays) });
  if (!configExisted || options.san || options.force) {
    await writeFile(paths.config, renderConfigYaml(effective), { mode: 0o644 });
  }
  const store = await openSqliteStore(paths.database);
  try {
    // The credential vigil-server commands on this host use to reach the admin API.
    const [{ issueLocalCredential }, { cliActor }] = await Promise.all([import('../../admin/local/credential.js'), import('../../admin/cli/offline.js')]);
    await issueLocalCredential(paths, ca, store, { validityMs: days(effective.admin.localCredentialDays), actor: cliActor() });
  } finally {
    await store.close();
  }

  const out = [
    `data directory: ${paths.root}`,
    `fleet CA certificate: ${paths.caCert} (SHA-256 ${ca.certificate.fingerprint256})`,
    `broker certificate: ${paths.serverCert} for ${effective.pki.serverSans.join(', ')} (valid until ${new X509Certificate(server.certificatePem).validTo})`,
    `CRL: ${paths.crl}`,
    `configuration: ${paths.config}`,
    `database: ${paths.database}`,
    `local admin credential: ${join(paths.root, 'admin')} (role admin, used by vigil-server commands on this host)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The default SANs plus this machine's host name, when it is a usable DNS name. */
function withHostname(sans: readonly string[]): string[] {
  const host = hostname();
  const usable = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host) && isIP(host) === 0;
  return usable && !sans.includes(host) ? [...sans, host] : [...sans];
}
