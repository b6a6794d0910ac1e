// Device-side TPM-backed enrollment (see README.md).
export { enroll, DEFAULT_ENROLL_TIMEOUT_MS, type EnrollOptions, type Enrollment } from './enroll.js';
export { EnrollmentError, type EnrollmentFailure } from './errors.js';
export { EK_CANDIDATES } from './tpm-keys.js';
export { parseServerUrl, DEFAULT_MQTTS_PORT, type ServerAddress } from './server-url.js';
