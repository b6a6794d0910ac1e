// Agent-side TPM use: the attestation key on disk and in the TPM, quotes with their PCR values, the TPM report.
export { AK_PUBLIC_FILE, AK_PRIVATE_FILE, saveAkBlobs, loadAkBlobs } from './ak-files.js';
export { prepareAttestationKey, AK_PARENT, type AttestationKey } from './attestation-key.js';
export { quotePcrs, type QuoteEvidence } from './quote.js';
export { allocatedSelection, type AllocatedSelection } from './allocated-selection.js';
export { describeTpm, type TpmReport } from './tpm-report.js';
