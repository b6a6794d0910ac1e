export const placeholder = 'server';
export * from './pki/index.js';
export * from './broker/index.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
export { loadServerConfig, ConfigError, type ServerConfig, type ConfigOverride } from './config/index.js';
