export { ServerConfigSchema, type ServerConfig } from './schema.js';
export { loadServerConfig, validateServerConfig, defaultServerConfig, type ConfigOverride, type LoadConfigOptions } from './load.js';
export { renderConfigYaml } from './render.js';
export { serverConfigLeaves, type ConfigLeaf } from './env.js';
export { ConfigError } from './errors.js';
