/**
 * The fleet simulator (README.md): simulated devices with software TPMs
 * that emit genuine TPMS_ATTEST / TPMT_SIGNATURE structures, realistic boot
 * and model logs, real mutual-TLS MQTT connections, enrolled through the
 * store or through the registrar, run in-process or spread over
 * load-generator processes.
 */
export { SoftwareTpm, SIM_BANKS, toTpmSelection, type SimAkKind, type SimBank, type SimClock, type SoftwareTpmOptions, type SoftwareTpmState } from './software-tpm.js';
export { BootImage, DEFAULT_BOOT_LOG } from './boot-image.js';
export { modelRelease, SimModelLog, type ModelFile } from './model-set.js';
export { SimAttester, simEvidence, type SimEvidenceReport, type SimPlatform, type SimQuoteParts } from './attester.js';
export { enrollSimDevices, identityFromRecord, identityRecord, type EnrollSimOptions, type SimIdentity, type SimIdentityRecord } from './identity.js';
export { tlsKeyPool, DEFAULT_KEY_POOL_DIR } from './key-pool.js';
export { Inbox } from './inbox.js';
export { delay, SimDevice, type SimDeviceOptions, type SimVerdictTiming } from './device.js';
export type { SimLinkKind } from './link/link.js';
export { Fleet, percentile, type FleetOptions, type FleetSnapshot } from './fleet.js';
export { DEFAULT_LOAD_NICE } from './niceness.js';
export type { LedgerCounts } from './messages.js';
export { SimManufacturer } from './manufacturer.js';
export { activateCredential, CredentialActivationError } from './credential-activation.js';
export { enrollThroughRegistrar, prepareEnrollee, SimEnrollmentError, type RegistrarEnrollmentOptions, type SimEnrollee } from './registrar-enrollment.js';
export { SwtpmAgents, type AgentLaunch, type SwtpmDevicesOptions } from './swtpm-agents.js';
