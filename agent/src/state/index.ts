// The agent's state directory: file layout, enrollment facts, the enrolled identity and AK (see README.md).
export { statePaths, type StatePaths } from './paths.js';
export { StateError, type StateErrorCode } from './errors.js';
export { EnrollmentRecord } from './enrollment-record.js';
export {
  readEnrollment,
  loadEnrolledIdentity,
  saveEnrollment,
  readAkBlobs,
  writeAkBlobs,
  loadEnrolledAk,
  type EnrolledIdentity,
  type EnrolledAk,
} from './agent-state.js';
export { ensureStateDir } from './files.js';
