// Agent-side attestation: evidence for a challenge and the model measurement log (see README.md).
export { buildEvidence, selectionOf, type BuiltEvidence, type EvidenceReport, type EvidenceSession, type EvidenceSources } from './evidence.js';
export { ModelMeasurementLog, MODEL_LOG_FILE, type ModelLogOptions } from './model-log.js';
export { ImaLogReader, DEFAULT_IMA_LOG_PATH, type ImaSlice } from './ima-log.js';
export { DEFAULT_BOOT_LOG_PATH, readBootLog, type BootLogFile } from './boot-log.js';
export { EvidenceError, type EvidenceErrorCode } from './errors.js';
