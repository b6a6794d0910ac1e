export { FleetCa, DEFAULT_CA_VALIDITY_MS, DEFAULT_CRL_VALIDITY_MS, type CreateFleetCaOptions, type IssueCrlOptions } from './fleet-ca.js';
export { DEFAULT_DEVICE_CERTIFICATE_VALIDITY_MS, type DeviceCertificateRequest } from './device-certificate.js';
export { parseServerSans, type ServerCertificateOptions } from './server-certificate.js';
export type { IssuedCertificate } from './issued-certificate.js';
export type { CrlReason, RevokedCertificate } from './crl.js';
export {
  ADMIN_ROLES,
  ADMIN_URI_PREFIX,
  ROLE_URI_PREFIX,
  DEFAULT_ADMIN_CERTIFICATE_VALIDITY_MS,
  MAX_ADMIN_CERTIFICATE_VALIDITY_MS,
  adminIdentityFromCertificate,
  type AdminCertificateRequest,
  type AdminCertificateRole,
} from './admin-certificate.js';
export { deviceIdFromCertificate, toX509Certificate, type CertificateInput } from './device-identity.js';
export { DEVICE_URI_PREFIX, isValidDeviceId, deviceUri } from './device-uri.js';
export { PkiError, type PkiErrorCode } from './errors.js';
export { generateRsaKeyPair, privateKeyToPem, toPublicKeyObject, type PublicKeyInput, type RsaKeyPair } from './keys.js';
export { normalizeSerial, randomSerial } from './serial.js';
export { hours, days } from './validity.js';
export { assertOwnerOnly, writeSecretFile, SECRET_FILE_MODE } from './secret-file.js';
export {
  loadFleetCaFiles,
  writeFleetCaFiles,
  loadServerCredentialFiles,
  writeServerCredentialFiles,
  type CaPaths,
  type ServerCredentialPaths,
  type ServerCredentials,
} from './ca-files.js';
export { readCrl, readCrlFile, reissueCrlFile, type CrlSummary } from './crl-file.js';
export { readCrlHeader, readCrlHeaderFile, type CrlHeader } from './crl-header.js';
export { issueServerCredentialFiles, loadOrRenewServerCredentials, type ServerCredentialsRenewal } from './server-credentials.js';
