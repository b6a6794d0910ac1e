import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { AGENT_CLI } from '../locations.js';

/**
 * Runs `program args…` under a shell that ends it when our end of the
 * shell's stdin pipe closes: on `stop()`, and when the demo process dies in
 * any way (even SIGKILL), so no agent outlives the demo. The shell exits
 * with the program's status, so exit code 6 (revoked) comes through.
 */
const TIED = 'exec 3<&0; p="$1"; shift; "$p" "$@" </dev/null & c=$!; ( read _ <&3; kill $c 2>/dev/null ) & w=$!; wait $c; rc=$?; kill $w 2>/dev/null; exit $rc';

export interface AgentProcess {
  /** Resolves with the agent's exit code (null if a signal ended it) when it has exited. */
  readonly exited: Promise<number | null>;
  /** The exit code once exited, else undefined. */
  readonly exitCode: () => number | null | undefined;
  /** The last `lines` lines of its log (JSON lines), for error messages. */
  logTail(lines?: number): Promise<string>;
  /** SIGTERM (the agent stops cleanly), SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `vigil-agent run --config <configFile>` as a device's init system would
 * run it, with the enrollment token in VIGIL_AGENT_TOKEN (not on the command
 * line, where `ps` shows it) and no other VIGIL_AGENT_* variable of ours.
 * Its log (JSON lines on stderr) goes to `logFile`.
 */
export async function startAgent(options: { readonly configFile: string; readonly logFile: string; readonly token?: string }): Promise<AgentProcess> {
  const log = await open(options.logFile, 'a', 0o600);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_AGENT_')));
  if (options.token !== undefined) env['VIGIL_AGENT_TOKEN'] = options.token;
  const child = spawn('sh', ['-c', TIED, 'vigil-agent-tie', process.execPath, AGENT_CLI, 'run', '--config', options.configFile], {
    stdio: ['pipe', log.fd, log.fd],
    env,
  });
  child.stdin!.on('error', () => undefined);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c) => {
      code = c;
      resolve(c);
    });
    child.once('error', () => {
      code = null;
      resolve(null);
    });
  });
  // The child has its own copy of the descriptor.
  await log.close();
  return {
    exited,
    exitCode: () => code,
    async logTail(lines = 6) {
      const text = await readFile(options.logFile, 'utf8').catch(() => '');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
    async stop(graceMs = 10_000) {
      if (code !== undefined) return;
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
