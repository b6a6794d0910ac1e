export const placeholder = 'server';
export * from './pki/index.js';
export * from './broker/index.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
export { loadServerConfig, ConfigError, type ServerConfig, type ConfigOverride } from './config/index.js';
// The whole server in-process (benchmarks, the fleet simulator) and what driving it needs.
export { startVigilServer, type RunningServer, type StartServerOptions } from './app/index.js';
export { dataDir, type DataDir } from './datadir.js';
export { EXPIRED_KEPT_MS, generateEnrollmentToken, hashEnrollmentToken, openPostgresStore, openSqliteStore, type BatchedWrite, type Store } from './store/index.js';
