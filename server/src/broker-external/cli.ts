import type { Command } from 'commander';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeviceId } from '@vigil/protocol/core';
import { startupError } from '../config/startup-errors.js';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { dataDir, defaultDataRoot } from '../datadir.js';

/**
 * `vigil-server broker ...`: what an operator needs to put Vigil behind an
 * existing Mosquitto broker (docs/deployment.md).
 *
 *   vigil-server broker dynsec-config --replica a --replica b [--out FILE]
 *   vigil-server broker server-certificate --san broker.example.net --out-dir DIR [--data DIR]
 */
export function register(program: Command): void {
  const broker = program.command('broker').description('set up an external MQTT broker (Mosquitto 2) for verifier replicas');

  broker
    .command('dynsec-config')
    .description("print the Mosquitto dynamic-security plugin's initial configuration: Vigil's roles and one client per verifier replica")
    .requiredOption('--replica <name...>', 'verifier replica name (repeatable): its broker username is vigil:verifier:NAME')
    .option('--out <file>', 'write to this file (refused if it exists) instead of standard output')
    .action(async (options: { replica: string[]; out?: string }) => {
      const bad = options.replica.find((r) => !isDeviceId(r));
      if (bad !== undefined) throw new CliError(`replica name ${JSON.stringify(bad)} must match ^[a-z0-9][a-z0-9._-]{0,62}$`, ExitCode.Usage);
      const { dynsecConfigFile } = await import('./dynsec/config-file.js');
      const text = dynsecConfigFile([...new Set(options.replica)]);
      if (options.out === undefined) {
        process.stdout.write(text);
        return;
      }
      const { writeFile } = await import('node:fs/promises');
      try {
        await writeFile(options.out, text, { flag: 'wx', mode: 0o600 });
      } catch (err) {
        throw new CliError(`cannot write ${options.out}: ${(err as Error).message}`, ExitCode.Io, { cause: err });
      }
    });

  broker
    .command('server-certificate')
    .description("issue the external broker's TLS server certificate from the fleet CA: writes broker.pem, broker.key (0600), ca.pem and crl.pem into --out-dir")
    .option('--data <dir>', 'data directory with the fleet CA (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .requiredOption('--san <name...>', 'host name or IP address devices and replicas use to reach the broker (repeatable)')
    .requiredOption('--out-dir <dir>', 'directory to write into (created 0700 if missing)')
    .option('--days <n>', 'validity in days', '397')
    .action(async (options: { data: string; san: string[]; outDir: string; days: string }) => {
      const paths = dataDir(options.data);
      const days = Number(options.days);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliError('--days must be an integer from 1 to 3650', ExitCode.Usage);
      try {
        const pki = await import('../pki/index.js');
        pki.parseServerSans(options.san);
        const ca = await pki.loadFleetCaFiles(paths);
        const keys = await pki.generateRsaKeyPair(2048);
        const issued = ca.issueServerCertificate({ publicKey: keys.publicKey, sans: options.san, validityMs: pki.days(days) });
        const { writeFileAtomic } = await import('../pki/secret-file.js');
        await mkdir(options.outDir, { recursive: true, mode: 0o700 });
        await pki.writeSecretFile(join(options.outDir, 'broker.key'), pki.privateKeyToPem(keys.privateKey));
        await writeFileAtomic(join(options.outDir, 'broker.pem'), issued.pem, 0o644);
        await writeFileAtomic(join(options.outDir, 'ca.pem'), ca.certificatePem, 0o644);
        await writeFileAtomic(join(options.outDir, 'crl.pem'), await readFile(paths.crl, 'utf8'), 0o644);
        process.stdout.write(`${join(options.outDir, 'broker.pem')}\n`);
      } catch (err) {
        startupError(err, paths.root);
      }
    });
}
