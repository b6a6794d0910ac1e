// Software TPMs for tests, demonstrations and development: manufacture a
// TPM 2.0 with EK certificates from a private manufacturer CA (swtpm_setup,
// swtpm_localca) and run it (swtpm socket). Imported as
// `@vigil/tpm2-ts/simulator`, apart from the TPM client, since it starts
// processes. Needs the Debian packages swtpm and swtpm-tools.
export { SimulatorError, type SimulatorFailure } from './errors.js';
export { findSwtpmTools, DEFAULT_SWTPM_TOOLS, type SwtpmTools } from './tools.js';
export { SwtpmManufacturer, type ManufacturerCertificates, type PlatformDescription } from './manufacturer.js';
export { manufactureTpm, type ManufactureOptions, type ManufacturedTpm, type ManufacturedEkCertificates } from './manufacture.js';
export { startSimulator, type SimulatorOptions, type SwtpmSimulator } from './simulator.js';
