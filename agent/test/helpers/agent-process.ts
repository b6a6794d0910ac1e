/**
 * The built `vigil-agent` run as a child process, as systemd would run it:
 * its JSON log lines (stderr) are kept and can be waited for; `exited`
 * resolves with its exit code. Children still running when the test
 * process exits are killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';

export const AGENT_CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export type AgentLogLine = Record<string, unknown> & { msg?: string; level?: number; time?: string };

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly lines: AgentLogLine[];
  /** Everything written to stdout. */
  readonly stdout: () => string;
  /** Resolves with the first log line (past or future) that matches; rejects if the agent exits first. */
  waitFor(match: (l: AgentLogLine) => boolean, what?: string): Promise<AgentLogLine>;
  /** Lines matching, so far. */
  matching(match: (l: AgentLogLine) => boolean): AgentLogLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (default) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Where a test device's agent finds its server, TPM and files. */
export interface AgentRunTarget {
  /** `mqtts://host:port` */
  readonly server: string;
  /** The fleet CA certificate file. */
  readonly ca: string;
  /** TPM URI (`swtpm:...`). */
  readonly tpm: string;
  readonly state: string;
  /** A model folder, when the device measures one. */
  readonly models?: string;
}

/**
 * `vigil-agent run` for a test device, before its extra flags. swtpm has no
 * firmware event log and test hosts no IMA list for us: both point at paths
 * that do not exist beside the state directory (reported absent, not fatal).
 */
export function agentRunArgs(target: AgentRunTarget): string[] {
  const absent = (name: string): string => join(dirname(target.state), `absent-${name}`);
  return [
    'run',
    ...['--server', target.server, '--ca', target.ca, '--tpm', target.tpm, '--state', target.state],
    ...(target.models !== undefined ? ['--model', target.models] : []),
    ...['--eventlog', absent('event-log'), '--ima-log', absent('ima-log')],
  ];
}

/** Starts `vigil-agent <args>` with a clean VIGIL_AGENT_* environment plus `env`. */
export function startAgent(args: readonly string[], env: Readonly<Record<string, string>> = {}): AgentProcess {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_')));
  const child = spawn(process.execPath, [AGENT_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...cleanEnv, ...env } });
  children.add(child);
  const lines: AgentLogLine[] = [];
  let out = '';
  let partial = '';
  const waiters: Array<{ match: (l: AgentLogLine) => boolean; resolve: (l: AgentLogLine) => void; reject: (e: Error) => void; what: string }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let line: AgentLogLine;
      try {
        line = JSON.parse(text) as AgentLogLine;
      } catch {
        line = { msg: text, level: 60, raw: true };
      }
      lines.push(line);
      if (process.env['VIGIL_TEST_AGENT_LOGS'] === '1') process.stderr.write(`[agent ${child.pid}] ${text}\n`);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(line)) waiters.splice(i, 1)[0]!.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      for (const w of waiters.splice(0)) {
        w.reject(new Error(`agent exited (code ${code}, signal ${signal}) before logging ${w.what}; last lines:\n${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`));
      }
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    stdout: () => out,
    waitFor(match, what = 'the expected line') {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`agent already exited before logging ${what}`));
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject, what }));
    },
    matching: (match) => lines.filter(match),
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Matches a log line by its message. */
export const msg =
  (text: string) =>
  (l: AgentLogLine): boolean =>
    l.msg === text;
