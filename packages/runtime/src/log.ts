import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Field names whose values are secrets. Any field with one of these names, at
 * the top level or up to two objects deep, is written as "[redacted]": an
 * enrollment token, a private key or the TPM's activated secret must never
 * reach the journal, however carelessly a line (`log.info({ token })`) is
 * written.
 */
const SECRET_FIELDS = [
  'key',
  'keyPem',
  'privateKey',
  'privateKeyPem',
  'secret',
  'secrets',
  'token',
  'password',
  'passphrase',
  'authorization',
  'credential',
  'credentials',
  'activatedSecret',
];
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Default: stderr, written synchronously so the last lines before an exit (a revocation, exit 6) are not lost. */
  readonly destination?: DestinationStream;
  /** Bound to every line, e.g. `{ component: 'broker' }`. */
  readonly bindings?: Record<string, string>;
}

/**
 * A structured logger: JSON lines on stderr (stdout carries command
 * results), ISO timestamps, the pid, secrets redacted by field name.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}
