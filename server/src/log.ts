import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Field names whose values are secrets. Any field with one of these names, at
 * the top level or up to two objects deep, is replaced by "[redacted]": a
 * careless `log.info({ token })` must not put a secret in the journal.
 */
const SECRET_FIELDS = [
  'key',
  'privateKey',
  'privateKeyPem',
  'keyPem',
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
  /** Default: stderr, written synchronously so the last lines before an exit are not lost. */
  readonly destination?: DestinationStream;
  /** Bound to every line, e.g. `{ component: 'broker' }`. */
  readonly bindings?: Record<string, string>;
}

/**
 * The server's structured logger: JSON lines on stderr (stdout carries command
 * results), ISO timestamps, secrets redacted.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
  return options.bindings ? logger.child(options.bindings) : logger;
}
