export {
  createBootstrapIdentity,
  BOOTSTRAP_CERTIFICATE_VALIDITY_MS,
  IdentityError,
  type BootstrapIdentity,
  type BootstrapIdentityOptions,
} from './bootstrap-identity.js';
export { loadOrCreateBootstrapIdentity, identityPaths, type IdentityPaths } from './identity-files.js';
