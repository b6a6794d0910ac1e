/**
 * The registrar: TPM-backed enrollment of bootstrap clients into the fleet
 * (see README.md). The server starts it as a component (`registrarComponent`);
 * the rest is exported for tests and for tools that check EK certificates.
 */
export { registrarComponent } from './component.js';
export { Registrar, type RegistrarOptions } from './registrar.js';
export type { RegistrarContext, RegistrarSettings } from './registrar-context.js';
export { EkTrustStore, TCG_KP_EK_CERTIFICATE, type EkCertificateCheck } from './ek-trust.js';
export { checkAkPublic } from './ak-policy.js';
export { checkEkPublic } from './ek-policy.js';
export { EnrollmentRefusal } from './refusal.js';
export { OutcomeCounter, type EnrollmentOutcome, type EnrollmentOutcomeSink } from './outcomes.js';
