import { spawn } from 'node:child_process';

/** Output kept from a tool run: enough for an error message, bounded so a chatty tool cannot fill memory. */
const MAX_OUTPUT = 64_000;

/** Runs a program to completion; resolves with its exit code and its (bounded) stdout+stderr. */
export function runTool(command: string, args: readonly string[]): Promise<{ readonly code: number | null; readonly output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (d: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += d.toString();
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
