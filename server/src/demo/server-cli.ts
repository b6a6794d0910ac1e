import { spawn } from 'node:child_process';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { SERVER_CLI } from './locations.js';
import { DemoInterrupted } from './wait.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a `vigil-server` command the way an operator would, with the built
 * CLI: commands that have an admin operation go through the running
 * server's admin API (found through DIR/run/admin.json), exactly as in
 * production. Aborting `signal` kills the command.
 */
export function runServerCli(args: readonly string[], signal: AbortSignal): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new DemoInterrupted('SIGINT'));
    const child = spawn(process.execPath, [SERVER_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1_000_000) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1_000_000) stderr += d.toString();
    });
    const onAbort = (): void => void child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new CliError(`cannot run vigil-server ${args[0] ?? ''}: ${err.message}`, ExitCode.Internal, { cause: err }));
    });
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new DemoInterrupted('SIGINT'));
      resolve({ code: code ?? 128 + (sig === 'SIGKILL' ? 9 : 15), stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; its failure ends the demo with the command's own message and exit code. */
export async function serverCli(args: readonly string[], signal: AbortSignal): Promise<string> {
  const r = await runServerCli(args, signal);
  if (r.code !== 0) {
    // The CLI's own message (log lines are JSON); a command that failed a check says why on stdout.
    const said = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{')).join('\n') || r.stdout.trim().slice(-2000) || r.stderr.trim().slice(-2000);
    throw new CliError(`vigil-server ${args.join(' ')} failed (exit ${r.code}): ${said}`, exitCodeOf(r.code));
  }
  return r.stdout;
}

const KNOWN = new Set<number>(Object.values(ExitCode));
function exitCodeOf(code: number): ExitCode {
  return KNOWN.has(code) ? (code as ExitCode) : ExitCode.Internal;
}
