import { Command, CommanderError } from 'commander';
import { CliError, ExitCode } from './exit-codes.js';

/** Where a CLI writes; the process's streams unless a test captures them. */
export interface CliOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export interface CliDefinition {
  /** The program name: commander's usage line and the prefix of every error message. */
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** Each subcommand module's `register(program)`, in help order. */
  readonly commands: readonly ((program: Command) => void)[];
}

/**
 * Builds the commander program and runs it on `argv` (`process.argv` form:
 * node, script, arguments). Resolves to the exit code, never rejects: a
 * command that returns ends with `Ok`, or with the `process.exitCode` it
 * set; a `CliError` with its code and message; a command-line mistake with
 * `Usage` (after the help); anything else is a bug (`Internal`, with its
 * stack). The caller sets `process.exitCode` rather than calling
 * `process.exit`, so pending output and the log are flushed.
 */
export async function runCli(definition: CliDefinition, argv: readonly string[] = process.argv, output: CliOutput = process): Promise<number> {
  // Output, exitOverride and showHelpAfterError must be set before the
  // subcommands are added: commander copies them into each at creation.
  const program = new Command(definition.name)
    .description(definition.description)
    .version(definition.version, '-V, --version')
    .configureOutput({ writeOut: (text) => void output.stdout.write(text), writeErr: (text) => void output.stderr.write(text) })
    .showHelpAfterError()
    .exitOverride();
  for (const register of definition.commands) register(program);
  try {
    await program.parseAsync(argv);
    // A command reports an outcome that is not an error (a check that found
    // something untrustworthy, an interrupted demo) by setting
    // process.exitCode and returning normally: keep it.
    return process.exitCode === undefined ? ExitCode.Ok : Number(process.exitCode);
  } catch (err) {
    return exitCodeFor(err, definition.name, output);
  }
}

function exitCodeFor(err: unknown, name: string, output: CliOutput): ExitCode {
  if (err instanceof CommanderError) {
    // --help and --version end with a CommanderError whose exitCode is 0;
    // commander has already written its message.
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (err instanceof CliError) {
    output.stderr.write(`${name}: ${err.message}\n`);
    return err.exitCode;
  }
  output.stderr.write(`${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.Internal;
}
