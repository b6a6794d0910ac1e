/**
 * The verifier's store: one async interface (`Store`), its embedded SQLite
 * implementation and the PostgreSQL one for fleets beyond one machine.
 * See README.md in this folder.
 */
export type { Store } from './store.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/open.js';
export { openPostgresStore, type PostgresStoreOptions } from './postgres/open.js';
export { openSelectedStore, storeKind, type StoreKind, type StoreSelection } from './select.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export { EXPIRED_KEPT_MS } from './retention.js';
export { DEVICE_PAGE_SIZE, devicePages } from './device-pages.js';
export { ENROLLMENT_TOKEN_PREFIX, generateEnrollmentToken, hashEnrollmentToken } from './token-secret.js';
export { AUDIT_GENESIS_HASH, auditEntryHash } from './audit-chain.js';

export type { Actor, EpochMs, JsonObject, JsonValue } from './entities/common.js';
export type { AttestingDevice, Device, DeviceFilter, DeviceStanding, DeviceStatus, IfLastVerifiedAt, LogPosition, SetDeviceStatusInput, TpmClockState } from './entities/device.js';
export type { DeviceLogState, MeasurementLogState, ModelMeasurementRecord, NewDeviceLogState } from './entities/device-log-state.js';
export type { NewWebhookDelivery, WebhookAttempt, WebhookDelivery } from './entities/webhook.js';
export type { EnrollDeviceInput, EnrollDeviceRejection, EnrollDeviceResult } from './entities/enrollment.js';
export type { EnrollmentTokenRecord, NewEnrollmentToken, TokenCheck, TokenRejection } from './entities/enrollment-token.js';
export type {
  EnrollmentSession,
  NewEnrollmentSession,
  SessionConsumption,
  SessionRejection,
} from './entities/enrollment-session.js';
export type { BatchedOutcome, BatchedWrite } from './entities/batch.js';
export type { CertificateRecord, NewCertificate, RevokedCertificate } from './entities/certificate.js';
export type { ChallengeConsumption, ChallengeConsumptionRequest, ChallengeRecord, ChallengeRejection, ChallengeUse, NewChallenge } from './entities/challenge.js';
export type {
  AttestationReason,
  AttestationRecord,
  NewAttestation,
  RecordAttestationInput,
  RecordAnswerResult,
  RecordAttestationResult,
} from './entities/attestation.js';
export type {
  ReinstateDeviceInput,
  ReinstateDeviceResult,
  RevocationRecord,
  RevokeDeviceInput,
  RevokeDeviceResult,
} from './entities/revocation.js';
export type {
  AssignPolicyInput,
  AssignPolicyResult,
  NewPolicyVersion,
  PolicyAssignment,
  PolicyRecord,
  PolicyTarget,
  ResolvedPolicy,
} from './entities/policy.js';
export type { AllowedModel, AllowModelInput, RevokeModelInput } from './entities/model-allowlist.js';
export type { StoredBootLog } from './entities/boot-log.js';
export type { AuditEntry, AuditInput, AuditVerification } from './entities/audit.js';
export type { AdminCredentialRecord, AdminRole, NewAdminCredential, RevokeAdminCredentialsInput } from './entities/admin-credential.js';
