export const placeholder = 'agent';
export * from './identity/index.js';
// The daemon (vigil-agent run), for programs that run agents in-process (the demo, fleet simulators).
export { AgentDaemon, type DaemonExit, type DaemonOptions, type Attester, type TpmContext, readStatusFile, AgentStatus } from './daemon/index.js';
export { createAttester } from './daemon/attestation-adapter.js';
export { loadAgentConfig, defaultAgentConfig, AgentConfigSchema, type AgentConfig, ConfigError as AgentConfigError } from './config/index.js';
export { createAgentLogger } from './log.js';
// Device-side enrollment in-process (the enrollment benchmark, fleet simulators); `vigil-agent enroll` runs the same.
export { enroll, EnrollmentError, type EnrollOptions, type Enrollment } from './enroll/index.js';
