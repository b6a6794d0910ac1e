import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Field names whose values are secrets. Any field with one of these names, at
 * the top level or up to two objects deep, is written as "[redacted]": the
 * enrollment token, the device key and the TPM's activated secret must never
 * reach the journal, however carelessly a line is logged.
 */
const SECRET_FIELDS = [
  'key',
  'keyPem',
  'privateKey',
  'privateKeyPem',
  'secret',
  'token',
  'password',
  'passphrase',
  'authorization',
  'credential',
  'credentials',
  'activatedSecret',
];
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export interface AgentLoggerOptions {
  readonly level?: LogLevel;
  /** Default: stderr, written synchronously so the last lines before an exit (revocation, exit 6) are not lost. */
  readonly destination?: DestinationStream;
}

/**
 * The agent's structured logger: JSON lines on stderr (stdout carries command
 * results), ISO timestamps, secrets redacted. systemd's journal keeps them.
 */
export function createAgentLogger(options: AgentLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, component: 'vigil-agent' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}
