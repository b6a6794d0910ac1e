export { AgentConfigSchema, type AgentConfig } from './schema.js';
export { loadAgentConfig, defaultAgentConfig, DEFAULT_CONFIG_PATH, type LoadAgentConfigOptions, type LoadedAgentConfig } from './load.js';
export { configLeaves, ENV_PREFIX, type ConfigLeaf } from './leaves.js';
export { renderAgentConfig } from './render.js';
export { ConfigError } from './errors.js';
export { parseServerUrl, DEFAULT_MQTTS_PORT } from './server-url.js';
