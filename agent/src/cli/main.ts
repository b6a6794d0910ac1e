#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { CliError, ExitCode } from './exit-codes.js';

const program = new Command('vigil-agent')
  .description("Vigil device agent: proves this device's firmware, OS and AI models with its TPM 2.0")
  .version('0.1.0', '-V, --version')
  .showHelpAfterError()
  .exitOverride();
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end with a CommanderError whose exitCode is 0.
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (err instanceof CliError) {
    process.stderr.write(`vigil-agent: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`vigil-agent: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.Internal;
}
