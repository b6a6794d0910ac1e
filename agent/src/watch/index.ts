// Model file watching: fingerprints (inode, size, mtime, ctime), scans, change sets, the debounced watcher.
export { ModelWatcher, type ModelWatcherOptions } from './model-watcher.js';
export { scanModelFiles, DEFAULT_MAX_MODEL_FILES, type ModelFileScan, type ScanProblem, type ScanOptions } from './model-files.js';
export { diffFingerprints, hasChanges, type ModelChanges } from './changes.js';
export { fingerprintOf, sameFingerprint, type FileFingerprint } from './fingerprint.js';
export { Debouncer } from './debouncer.js';
