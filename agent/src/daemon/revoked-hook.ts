import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

export interface HookOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The first KiB of its output (stdout and stderr), for the log. */
  readonly output: string;
}

const OUTPUT_LIMIT = 1024;

/**
 * Runs the operator's revoked hook (`sh -c COMMAND`, e.g. stopping the
 * model server) with VIGIL_DEVICE_ID and VIGIL_REVOCATION_REASON in its
 * environment. Killed (SIGKILL to its process group) after `timeoutMs`.
 * Never throws: a failing hook is logged; the agent still exits 6.
 */
export function runRevokedHook(command: string, context: { deviceId: string; reason: string; timeoutMs: number; log: Logger }): Promise<HookOutcome> {
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let finished = false;
    // The hook inherits the agent's environment without its secrets.
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_DEVICE_ID: context.deviceId, VIGIL_REVOCATION_REASON: context.reason };
    delete env['VIGIL_AGENT_TOKEN'];
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills what it started too
      env,
    });
    const collect = (d: Buffer): void => {
      if (output.length < OUTPUT_LIMIT) output += d.toString('utf8').slice(0, OUTPUT_LIMIT - output.length);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, context.timeoutMs);
    const done = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const outcome = { exitCode, signal, timedOut, output: output.trim() };
      const level = exitCode === 0 ? 'info' : 'error';
      context.log[level]({ hook: command, ...outcome }, exitCode === 0 ? 'revoked hook ran' : 'revoked hook failed');
      resolve(outcome);
    };
    child.once('error', (err) => {
      output += err.message;
      done(null, null);
    });
    child.once('close', done);
  });
}
