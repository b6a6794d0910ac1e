import type { Command } from 'commander';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { DemoInterrupted } from './wait.js';

interface RawOptions {
  readonly keep?: boolean;
  readonly data?: string;
  readonly devices: string;
  readonly color: boolean;
}

const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/** Adds the demo's options and action to `command` (`vigil-server demo`). */
export function demoCommand(command: Command): Command {
  return command
    .description('run the whole product on this machine: a server, devices with software TPMs, enrollment, golden values, attestation, and a tampered model revoked')
    .option('--keep', 'keep the fleet running after the story (Ctrl-C stops it) and keep its files, to explore with the other commands')
    .option('--data <dir>', 'server data directory to create (new or empty; kept afterwards); default: a temporary one, removed at the end')
    .option('--devices <n>', 'number of devices, 1-16 (the last one is tampered with)', '3')
    .option('--no-color', 'no ANSI colours (also: NO_COLOR set, or output not a terminal)')
    .action((options: RawOptions) => runDemoCommand(options));
}

async function runDemoCommand(options: RawOptions): Promise<void> {
  const devices = /^\d{1,2}$/.test(options.devices) ? Number(options.devices) : NaN;
  if (!(devices >= 1 && devices <= 16)) throw new CliError(`--devices ${options.devices}: give a number from 1 to 16`, ExitCode.Usage);
  // Loaded here, not at the top: every vigil-server command registers at start-up.
  const [{ runDemo }, { Terminal }] = await Promise.all([import('./demo.js'), import('./view/terminal.js')]);
  const interactive = process.stdout.isTTY === true;
  const color = options.color && interactive && (process.env['NO_COLOR'] ?? '') === '';
  const term = new Terminal(process.stdout, { color, interactive });

  // Ctrl-C or SIGTERM: stop everything, then exit 128 + signal (with --keep that is the normal end: exit 0).
  // A second one exits at once; the software TPMs and agents end with us (they run under watchdogs).
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(128 + (SIGNAL_NUMBER[signal] ?? 2));
    controller.abort(new DemoInterrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runDemo({ keep: options.keep === true, data: options.data, devices }, term, controller.signal);
  } catch (err) {
    if (!(err instanceof DemoInterrupted)) throw err;
    process.stderr.write(`vigil-server: demo interrupted (${err.signal}); everything it started is stopped\n`);
    process.exitCode = 128 + (SIGNAL_NUMBER[err.signal] ?? 2);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
