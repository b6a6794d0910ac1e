import { createLogger, type LoggerOptions, type Logger } from '@vigil/runtime/log';

export { LOG_LEVELS, type LogLevel, type Logger } from '@vigil/runtime/log';

export type AgentLoggerOptions = Omit<LoggerOptions, 'bindings'>;

/**
 * The agent's structured logger: JSON lines on stderr, ISO timestamps,
 * secrets (the enrollment token, the device key, the TPM's activated secret)
 * redacted, every line marked `component: 'vigil-agent'`. systemd's journal
 * keeps them.
 */
export function createAgentLogger(options: AgentLoggerOptions = {}): Logger {
  return createLogger({ ...options, bindings: { component: 'vigil-agent' } });
}
