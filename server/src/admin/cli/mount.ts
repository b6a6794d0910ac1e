import { Command, Option } from 'commander';
import type { TSchema } from 'typebox';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import { decodeInput, formatProblems } from '../operations/input.js';
import type { Operation } from '../operations/operation.js';
import { invokeOperation } from './invoke.js';

/** Descriptions of the command groups operations are mounted under. */
const GROUPS: Readonly<Record<string, string>> = {
  devices: 'enrolled devices',
  device: 'one device',
  token: 'enrollment tokens that authorise devices to join the fleet',
  audit: 'the hash-chained audit log of security-relevant acts',
  admin: 'admin credentials: client certificates for the admin API, with a role',
};

interface PropertySchema {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
}

/**
 * Adds a `vigil-server` command for each operation with a `cli` binding:
 * its arguments, an option per other input property (from the schema: flag,
 * description, default), `--data` and `--json`. The command validates its
 * input with the operation's schema, runs it through the admin API or on the
 * database (see invokeOperation), and prints `render(output)` or the JSON.
 *
 * @throws Error at start-up if two operations claim the same command.
 */
export function mountOperationCommands(program: Command, operations: readonly Operation[]): void {
  for (const op of operations) {
    const cli = op.cli;
    if (cli === undefined) continue;
    let parent = program;
    for (const word of cli.command.slice(0, -1)) parent = group(parent, word);
    const leaf = cli.command[cli.command.length - 1]!;
    if (parent.commands.some((c) => c.name() === leaf)) throw new Error(`vigil-server ${cli.command.join(' ')} is declared twice (${op.name})`);

    const command = parent.command(leaf).description(cli.description ?? op.summary);
    const properties = op.input.properties as Readonly<Record<string, TSchema & PropertySchema>>;
    const required = new Set(op.input.required ?? []);
    const positional = cli.arguments ?? [];
    const flags = new Map<string, string>(positional.map((a) => [a, `<${a}>`]));
    const attributes = new Map<string, string>();

    for (const a of positional) command.argument(required.has(a) ? `<${a}>` : `[${a}]`, properties[a]?.description ?? '');
    for (const [key, schema] of Object.entries(properties)) {
      if (positional.includes(key)) continue;
      if (key === 'data' || key === 'json') throw new Error(`operation ${op.name}: input ${key} collides with the --${key} every command has`);
      const hint = cli.options?.[key];
      const flag = hint?.flag ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      const description = (hint?.description ?? schema.description ?? '') + (schema.default === undefined ? '' : ` (default: ${String(schema.default)})`);
      const option = new Option(schema.type === 'boolean' ? flag : `${flag} <${hint?.valueName ?? key}>`, description);
      command.addOption(option);
      flags.set(key, flag);
      attributes.set(option.attributeName(), key);
    }
    command
      .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
      .option('--json', 'print the result as JSON')
      .action(async (...args: unknown[]) => {
        const options = args[positional.length] as Record<string, unknown> & { data: string; json?: boolean };
        const raw: Record<string, unknown> = {};
        positional.forEach((a, i) => {
          if (args[i] !== undefined) raw[a] = args[i];
        });
        for (const [attribute, key] of attributes) if (options[attribute] !== undefined) raw[key] = options[attribute];
        const flag = (property: string) => flags.get(property) ?? property;
        const decoded = decodeInput(op, raw, { fromText: true });
        if (!decoded.ok) throw new CliError(formatProblems(decoded.problems, flag), ExitCode.Usage);

        const output = await invokeOperation(op, decoded.value, dataDir(options.data), flag);
        process.stdout.write(options.json === true ? JSON.stringify(cli.json ? cli.json(output) : output, null, 2) + '\n' : cli.render(output, decoded.value));
        const code = cli.exitCode?.(output) ?? ExitCode.Ok;
        if (code !== ExitCode.Ok) process.exitCode = code;
      });
  }
}

function group(parent: Command, word: string): Command {
  return parent.commands.find((c) => c.name() === word) ?? parent.command(word).description(GROUPS[word] ?? `${word} commands`);
}
