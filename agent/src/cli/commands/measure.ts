import type { Command } from 'commander';
import { hashModel, ModelHashError, type HashProgress, type ModelDigest } from '@vigil/evidence';
import { CliError, ExitCode } from '../exit-codes.js';

/** Inputs larger than this get progress lines on stderr. */
const PROGRESS_THRESHOLD = 100 * 1024 * 1024;

/**
 * `vigil-agent measure <path>...`: SHA-256 of every file of each model (a
 * file or a folder) and each model's manifest digest, as the agent records
 * them in the model measurement log.
 */
export function register(program: Command): void {
  program
    .command('measure')
    .description("hash model files: each file's SHA-256 and each model's manifest digest")
    .argument('<path...>', 'model files or folders')
    .option('--json', 'print JSON')
    .option('--allow-symlinks', 'follow symbolic links instead of refusing them')
    .option('--concurrency <n>', 'worker threads for a folder (default: number of cores)')
    .action(async (paths: string[], options: { json?: boolean; allowSymlinks?: boolean; concurrency?: string }) => {
      const concurrency = options.concurrency === undefined ? undefined : positiveInteger(options.concurrency, '--concurrency');
      const models: ModelDigest[] = [];
      for (const path of paths) {
        const progress = progressReporter(path);
        try {
          models.push(await hashModel(path, { allowSymlinks: options.allowSymlinks === true, concurrency, onProgress: progress.report }));
        } catch (err) {
          throw asCliError(err);
        } finally {
          progress.done();
        }
      }
      if (options.json === true) {
        const json = models.map((m) => ({
          path: m.root,
          kind: m.kind,
          manifestDigest: m.manifestDigest,
          totalBytes: m.totalBytes,
          files: m.files.map((f) => ({ path: f.path, digest: f.digest, size: f.size })),
        }));
        process.stdout.write(JSON.stringify({ models: json }, null, 2) + '\n');
        return;
      }
      for (const m of models) {
        for (const f of m.files) process.stdout.write(`${f.digest}  ${m.kind === 'file' ? f.absolutePath : `${m.root}/${f.path}`}\n`);
        process.stdout.write(`manifest ${m.manifestDigest}  ${m.root} (${m.files.length} file${m.files.length === 1 ? '' : 's'}, ${m.totalBytes} bytes)\n`);
      }
    });
}

function positiveInteger(text: string, flag: string): number {
  if (!/^[1-9]\d{0,3}$/.test(text)) throw new CliError(`${flag}: expected a whole number from 1 to 9999, got ${JSON.stringify(text)}`, ExitCode.Usage);
  return Number(text);
}

function asCliError(err: unknown): unknown {
  if (!(err instanceof ModelHashError)) return err;
  switch (err.code) {
    case 'not-found':
    case 'io':
      return new CliError(err.message, ExitCode.Io, { cause: err });
    case 'worker':
      return new CliError(err.message, ExitCode.Internal, { cause: err });
    default:
      // symlink, unsupported-type, unsupported-name, empty: fix the path or the flags.
      return new CliError(err.message, ExitCode.Usage, { cause: err });
  }
}

/** Progress on stderr for inputs over 100 MB: at most one line per 10% (or a redrawn line on a terminal). */
function progressReporter(path: string): { report: (p: HashProgress) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  let shown = false;
  return {
    report(p) {
      if (p.bytesTotal <= PROGRESS_THRESHOLD) return;
      // All bytes read but files still finishing: the completion call prints 100%.
      if (p.bytesDone === p.bytesTotal && p.filesDone < p.filesTotal) return;
      const tenth = Math.floor((p.bytesDone / p.bytesTotal) * 10);
      if (!tty && tenth === lastTenth && p.filesDone < p.filesTotal) return;
      lastTenth = tenth;
      shown = true;
      const line = `measure: ${path}: ${Math.floor((p.bytesDone / p.bytesTotal) * 100)}% (${mib(p.bytesDone)} of ${mib(p.bytesTotal)} MiB, ${p.filesDone}/${p.filesTotal} files)`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    done() {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}
