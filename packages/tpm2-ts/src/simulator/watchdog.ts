import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Runs a program under a watchdog shell that ends it when our end of the
 * shell's stdin pipe closes: when `stop()` closes it, and when this process
 * ends for any reason, even SIGKILL (the kernel closes the pipe). So a
 * crashed test run or an interrupted demo never leaves swtpm behind. The
 * shell exits with the program's status.
 */
const WATCHDOG = 'exec 3<&0; p="$1"; shift; "$p" "$@" & c=$!; ( read _ <&3; kill $c 2>/dev/null ) & w=$!; wait $c; rc=$?; kill $w 2>/dev/null; exit $rc';

export interface WatchedProcess {
  readonly child: ChildProcess;
  /** Resolves when the program (and its shell) has exited. */
  readonly exited: Promise<void>;
  readonly hasExited: () => boolean;
  /** What the program wrote to stderr (the first 16 kB). */
  readonly stderr: () => string;
  /** Closes the pipe (the watchdog sends SIGTERM), SIGKILLs after `graceMs`, resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnWatched(program: string, args: readonly string[]): WatchedProcess {
  const child = spawn('sh', ['-c', WATCHDOG, 'vigil-watchdog', program, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  let done = false;
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 16_000) stderr += d.toString();
  });
  // A write to a watchdog whose shell has gone would raise EPIPE: nothing is ever written.
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
    child.once('error', () => {
      done = true;
      resolve();
    });
  });
  return {
    child,
    exited,
    hasExited: () => done,
    stderr: () => stderr,
    async stop(graceMs = 5_000) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
