import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import { CliError, ExitCode } from '../exit-codes.js';

interface IssueOptions {
  readonly name: string;
  readonly role: string;
  readonly out: string;
  readonly days?: string;
  readonly data: string;
  readonly json?: boolean;
}

/**
 * `vigil-server admin issue`: a new admin credential. The key pair is made
 * here and the private key written to --out (0600) before anything else; only
 * the public key goes to the server (or, with no server running, to the
 * fleet CA on this host). `admin list` and `admin revoke` are mounted from
 * the operations registry.
 */
export function register(program: Command): void {
  const admin = program.commands.find((c) => c.name() === 'admin') ?? program.command('admin').description('admin credentials: client certificates for the admin API, with a role');
  admin
    .command('issue')
    .description('issue an admin client credential: writes admin.pem, admin.key (0600) and ca.pem to --out')
    .requiredOption('--name <name>', 'who holds it (a-z 0-9 . _ -); the audit log names them admin:<name>')
    .requiredOption('--role <role>', 'viewer (reads), operator (also revokes, reinstates, attests) or admin (also policies, models, tokens, admins)')
    .requiredOption('--out <dir>', 'directory to write the credential to (created 0700)')
    .option('--days <n>', 'lifetime in days (default: 365)')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--json', 'print the result as JSON')
    .action(async (options: IssueOptions) => {
      const [{ issueAdminCredential }, { decodeInput, formatProblems }, { invokeOperation }, pki] = await Promise.all([
        import('../../admin/operations/admins/issue.js'),
        import('../../admin/operations/input.js'),
        import('../../admin/cli/invoke.js'),
        import('../../pki/index.js'),
      ]);
      const flag = (p: string) => ({ name: '--name', role: '--role', validityDays: '--days', publicKeyPem: '--out' })[p] ?? p;
      // Check the arguments before making a key (the public key is filled in below).
      const placeholder = '-----BEGIN PUBLIC KEY-----';
      const raw = { name: options.name, role: options.role, publicKeyPem: placeholder, ...(options.days === undefined ? {} : { validityDays: options.days }) };
      const checked = decodeInput(issueAdminCredential, raw, { fromText: true });
      if (!checked.ok) throw new CliError(formatProblems(checked.problems, flag), ExitCode.Usage);

      const out = resolve(options.out);
      const files = { certificate: join(out, 'admin.pem'), key: join(out, 'admin.key'), ca: join(out, 'ca.pem') };
      if (existsSync(files.key) || existsSync(files.certificate)) {
        throw new CliError(`--out: ${out} already holds a credential (admin.pem/admin.key); refusing to replace it`, ExitCode.Usage);
      }
      try {
        await mkdir(out, { recursive: true, mode: 0o700 });
        await chmod(out, 0o700);
      } catch (err) {
        throw new CliError(`--out: cannot create ${out}: ${(err as Error).message}`, ExitCode.Io, { cause: err });
      }
      const keys = await pki.generateRsaKeyPair(2048);
      await pki.writeSecretFile(files.key, pki.privateKeyToPem(keys.privateKey));
      let issued: { credential: { name: string; role: string; serial: string; notAfter: string }; certificatePem: string; caCertificatePem: string };
      try {
        issued = (await invokeOperation(
          issueAdminCredential,
          { ...checked.value, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
          dataDir(options.data),
          flag,
        )) as typeof issued;
      } catch (err) {
        await rm(files.key, { force: true });
        throw err;
      }
      const { writeFileAtomic } = await import('../../pki/secret-file.js');
      await writeFileAtomic(files.certificate, issued.certificatePem, 0o644);
      await writeFileAtomic(files.ca, issued.caCertificatePem, 0o644);
      const c = issued.credential;
      const [{ readRunFile }, { adminPaths }] = await Promise.all([import('../../admin/local/run-file.js'), import('../../admin/local/paths.js')]);
      const run = await readRunFile(adminPaths(dataDir(options.data)));
      const url = `https://${run?.host ?? '127.0.0.1'}:${run?.port ?? 8443}/v1/devices`;
      if (options.json === true) {
        process.stdout.write(JSON.stringify({ credential: c, files }, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        [
          `admin credential ${c.name} (${c.role}, serial ${c.serial}, valid until ${c.notAfter})`,
          `  certificate: ${files.certificate}`,
          `  key:         ${files.key} (0600: keep it secret)`,
          `  fleet CA:    ${files.ca}`,
          `  try: curl --cacert ${files.ca} --cert ${files.certificate} --key ${files.key} ${url}`,
        ].join('\n') + '\n',
      );
    });
}
