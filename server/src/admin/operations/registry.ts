import { listAdminCredentials } from './admins/list.js';
import { issueAdminCredential } from './admins/issue.js';
import { revokeAdminCredential } from './admins/revoke.js';
import { listAudit } from './audit/list.js';
import { verifyAudit } from './audit/verify.js';
import { allowReenrollment } from './devices/allow-reenrollment.js';
import { listAttestations } from './devices/attestations.js';
import { listDevices } from './devices/list.js';
import { showDevice } from './devices/show.js';
import type { Operation } from './operation.js';
import { createToken } from './tokens/create.js';
import { listTokens } from './tokens/list.js';
import { revokeToken } from './tokens/revoke.js';
import { attestDevice } from '../../verifier/operations/attest.js';
import { reinstateDevice } from '../../revocation/operations/reinstate.js';
import { revokeDevice } from '../../revocation/operations/revoke.js';
import {
  allowModel,
  assignPolicy,
  capturePolicy,
  createPolicy,
  diffPolicy,
  listModels,
  listPolicies,
  revokeModel,
  showPolicy,
} from '../../policy/operations/index.js';

/**
 * Every admin operation. The admin API serves each as a route (and lists it
 * in /openapi.json); `vigil-server` mounts each one that has a `cli` binding
 * as a command. Declare a new operation with `defineOperation` in your own
 * folder and add it here (see server/src/admin/README.md).
 */
export const operations: readonly Operation[] = [
  listDevices,
  showDevice,
  listAttestations,
  createToken,
  listTokens,
  revokeToken,
  verifyAudit,
  listAudit,
  issueAdminCredential,
  listAdminCredentials,
  revokeAdminCredential,
  attestDevice,
  revokeDevice,
  reinstateDevice,
  allowReenrollment,
  listPolicies,
  showPolicy,
  diffPolicy,
  createPolicy,
  capturePolicy,
  assignPolicy,
  allowModel,
  listModels,
  revokeModel,
];

/** The operation of that name, if declared. */
export function findOperation(name: string): Operation | undefined {
  return operations.find((op) => op.name === name);
}
