// The device agent daemon (vigil-agent run): see README.md.
export { AgentDaemon, type DaemonExit, type DaemonOptions } from './daemon.js';
export type { Attester, TpmContext } from './attester.js';
export { AgentStatus, CONNECTION_STATES, type ConnectionState } from './status-schema.js';
export { readStatusFile, statusFilePath, StatusFileError, STATUS_FILE } from './status-file.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { readRevocationMarker, REVOCATION_MARKER_FILE, type RevocationMarker } from './revocation-marker.js';
