import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `vigil-server policy import --name P (--tpm2-eventlog FILE | --replay FILE)`:
 * golden values from a file on this host. The file is read and turned into
 * a policy document here, then stored through the `policies.create`
 * operation (through the running server's admin API, or on the database).
 * The other `policy` commands (list, show, diff, capture, assign) are
 * mounted from their admin operations.
 */
export function register(program: Command): void {
  const policy = program.commands.find((c) => c.name() === 'policy') ?? program.command('policy');
  policy.description('golden-value policies: capture, import, show, diff, assign');
  policy
    .command('import')
    .description('make a policy version from tpm2_eventlog output (YAML) or `vigil-agent eventlog replay --json` output')
    .requiredOption('--name <name>', 'policy name (a-z 0-9 . _ -)')
    .option('--tpm2-eventlog <file>', 'YAML printed by tpm2_eventlog: its pcrs: section and boot application/driver digests')
    .option('--replay <file>', 'JSON printed by vigil-agent eventlog replay --json: PCR values')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--json', 'print the result as JSON')
    .action(async (options: { name: string; tpm2Eventlog?: string; replay?: string; data: string; json?: boolean }) => {
      if ((options.tpm2Eventlog === undefined) === (options.replay === undefined)) {
        throw new CliError('give exactly one of --tpm2-eventlog FILE or --replay FILE', ExitCode.Usage);
      }
      const file = (options.tpm2Eventlog ?? options.replay)!;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`, ExitCode.Io, { cause: err });
      }
      const [{ policyFromTpm2Eventlog }, { policyFromReplay }, { PolicyError }, { createPolicy }, { invokeOperation }, { decodeInput, formatProblems }] = await Promise.all([
        import('../../policy/import/tpm2-eventlog.js'),
        import('../../policy/import/replay.js'),
        import('../../policy/errors.js'),
        import('../../policy/operations/create.js'),
        import('../../admin/cli/invoke.js'),
        import('../../admin/operations/input.js'),
      ]);
      let document;
      try {
        document =
          options.tpm2Eventlog !== undefined
            ? policyFromTpm2Eventlog(text, { description: `imported from ${file}` })
            : policyFromReplay(text, { description: `imported from ${file}` });
      } catch (err) {
        if (err instanceof PolicyError) throw new CliError(`${file}: ${err.message}`, ExitCode.Usage, { cause: err });
        throw err;
      }
      const flag = (p: string) => (p === 'name' ? '--name' : p);
      const decoded = decodeInput(createPolicy, { name: options.name, document }, { fromText: false });
      if (!decoded.ok) throw new CliError(formatProblems(decoded.problems, flag), ExitCode.Usage);
      const out = (await invokeOperation(createPolicy, decoded.value, dataDir(options.data), flag)) as { name: string; version: number };
      process.stdout.write(options.json === true ? JSON.stringify(out, null, 2) + '\n' : `policy ${out.name}@${out.version} imported from ${file}\n`);
    });
}
