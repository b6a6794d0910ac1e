// The server's structured logger is the one both programs share: JSON lines
// on stderr, ISO timestamps, secrets redacted by field name.
export { createLogger, LOG_LEVELS, type Logger, type LoggerOptions, type LogLevel } from '@vigil/runtime/log';
