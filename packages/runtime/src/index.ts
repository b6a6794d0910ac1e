// The dependency-free part: what a daemon or a library may import without
// loading commander or pino. The CLI runner is `@vigil/runtime/cli`, the
// logger `@vigil/runtime/log`.
export { ExitCode, CliError } from './exit-codes.js';
export { writeFileAtomic } from './atomic-write.js';
export { readTextIfExists } from './read-text.js';
export { CoalescedTask } from './coalesced-task.js';
