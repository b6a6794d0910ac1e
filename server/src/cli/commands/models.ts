import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `vigil-server models allow <name> <sha256|path-to-model> [--note TEXT]`:
 * the digest is given, or computed here from the model file (hashed as the
 * agent hashes it), then added through the `models.allow` operation. `models
 * list` and `models revoke` are mounted from their admin operations.
 */
export function register(program: Command): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models');
  models.description('the fleet model allowlist: allow, list, revoke');
  models
    .command('allow')
    .description('allow a model file digest fleet-wide (the name is the file name, or its absolute path)')
    .argument('<name>', 'model file name (e.g. resnet50.onnx) or absolute path, as the model log records it')
    .argument('<digest>', 'SHA-256 (64 hex digits), or the path of the model file to hash')
    .option('--note <text>', 'why (shown by models list)')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--json', 'print the result as JSON')
    .action(async (name: string, digestOrPath: string, options: { note?: string; data: string; json?: boolean }) => {
      let digest = digestOrPath.toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(digest)) {
        const info = await stat(digestOrPath).catch((err: NodeJS.ErrnoException) => {
          throw new CliError(`${digestOrPath}: neither a SHA-256 digest nor a readable file (${err.code ?? err.message})`, ExitCode.Usage);
        });
        if (!info.isFile()) throw new CliError(`${digestOrPath}: not a file (allow each file of a model folder by its own name)`, ExitCode.Usage);
        const { hashModel } = await import('@vigil/evidence');
        digest = (await hashModel(digestOrPath)).files[0]!.digest;
      }
      const [{ allowModel }, { invokeOperation }, { decodeInput, formatProblems }] = await Promise.all([
        import('../../policy/operations/models-allow.js'),
        import('../../admin/cli/invoke.js'),
        import('../../admin/operations/input.js'),
      ]);
      const flag = (p: string) => (p === 'note' ? '--note' : `<${p}>`);
      const decoded = decodeInput(allowModel, { name, digest, ...(options.note !== undefined ? { note: options.note } : {}) }, { fromText: false });
      if (!decoded.ok) throw new CliError(formatProblems(decoded.problems, flag), ExitCode.Usage);
      const out = (await invokeOperation(allowModel, decoded.value, dataDir(options.data), flag)) as { name: string; digest: string };
      process.stdout.write(options.json === true ? JSON.stringify(out, null, 2) + '\n' : `${out.name} ${out.digest} allowed\n`);
    });
}
