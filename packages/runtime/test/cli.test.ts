import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { runCli, type CliOutput } from '../src/cli.js';
import { CliError, ExitCode } from '../src/exit-codes.js';

/** Runs a small program through `runCli`, capturing what it writes. */
async function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string; ran: string[] }> {
  const ran: string[] = [];
  let stdout = '';
  let stderr = '';
  const output: CliOutput = { stdout: { write: (t) => (stdout += t) }, stderr: { write: (t) => (stderr += t) } };
  const register = (program: Command): void => {
    program
      .command('greet')
      .option('--name <name>', 'who')
      .action((options: { name?: string }) => void ran.push(`greet ${options.name ?? 'nobody'}`));
    program.command('refuse <code>').action(async (code: string) => {
      await Promise.resolve();
      throw new CliError(`refused with ${code}`, Number(code) as ExitCode);
    });
    program.command('check <verdict>').action((verdict: string) => {
      // How a check reports "not trustworthy" without an error (vigil-server audit verify, verify quote).
      if (verdict !== 'affirming') process.exitCode = ExitCode.Failed;
    });
    program.command('crash').action(() => {
      throw new TypeError('a bug');
    });
    program.command('throw-string').action(() => {
      throw 'not an Error';
    });
  };
  try {
    const code = await runCli({ name: 'vigil-test', description: 'a test program', version: '9.8.7', commands: [register] }, ['node', 'vigil-test', ...args], output);
    return { code, stdout, stderr, ran };
  } finally {
    process.exitCode = undefined;
  }
}

describe('runCli', () => {
  it('runs the command the arguments name and ends with Ok', async () => {
    const r = await run(['greet', '--name', 'cam-1']);
    expect(r).toEqual({ code: ExitCode.Ok, stdout: '', stderr: '', ran: ['greet cam-1'] });
  });

  it('keeps the exit code a command that returns normally has set', async () => {
    expect((await run(['check', 'contraindicated'])).code).toBe(ExitCode.Failed);
    expect((await run(['check', 'affirming'])).code).toBe(ExitCode.Ok);
  });

  it('ends a CliError with its own exit code and its message after the program name', async () => {
    for (const code of Object.values(ExitCode)) {
      const r = await run(['refuse', String(code)]);
      expect(r.code).toBe(code);
      expect(r.stderr).toBe(`vigil-test: refused with ${code}\n`);
    }
  });

  it('ends an unexpected error as Internal with its stack, and never rejects', async () => {
    const r = await run(['crash']);
    expect(r.code).toBe(ExitCode.Internal);
    expect(r.stderr).toMatch(/^vigil-test: internal error: TypeError: a bug\n\s+at /);
    const s = await run(['throw-string']);
    expect(s.code).toBe(ExitCode.Internal);
    expect(s.stderr).toBe('vigil-test: internal error: not an Error\n');
  });

  it('ends a command-line mistake as Usage, with commander’s message and the help', async () => {
    for (const args of [['greet', '--colour', 'red'], ['no-such-command'], ['refuse'], ['greet', '--name']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(ExitCode.Usage);
      expect(r.stderr, args.join(' ')).toMatch(/^error: /);
      expect(r.stderr, args.join(' ')).toContain('Usage: vigil-test');
      expect(r.ran).toEqual([]);
    }
  });

  it('ends --help and --version with Ok, their text on stdout', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(ExitCode.Ok);
    expect(help.stdout).toContain('a test program');
    expect(help.stdout).toContain('greet');
    const sub = await run(['greet', '--help']);
    expect(sub.code).toBe(ExitCode.Ok);
    expect(sub.stdout).toContain('--name <name>');
    const version = await run(['-V']);
    expect(version).toMatchObject({ code: ExitCode.Ok, stdout: '9.8.7\n', stderr: '' });
  });
});
