/** The policy and model allowlist admin operations (registered in ../../admin/operations/registry.ts). */
export { listPolicies } from './list.js';
export { showPolicy } from './show.js';
export { diffPolicy } from './diff.js';
export { createPolicy } from './create.js';
export { capturePolicy } from './capture.js';
export { assignPolicy } from './assign.js';
export { allowModel } from './models-allow.js';
export { listModels } from './models-list.js';
export { revokeModel } from './models-revoke.js';
