import Type from 'typebox';
import { OperationError } from '../errors.js';
import { defineOperation } from '../operation.js';
import { NameParam, serial } from '../schemas.js';
import { AdminCredentialInfo, adminCredentialInfo } from './schemas.js';

export const revokeAdminCredential = defineOperation({
  name: 'admins.revoke',
  summary: "revoke an admin's credentials (all of them, or one by serial); the API refuses them from the next request",
  method: 'POST',
  path: '/v1/admins/:name/revoke',
  role: 'admin',
  input: Type.Object({ name: NameParam, serial: Type.Optional(serial('only this credential of the name')) }, { additionalProperties: false }),
  output: Type.Object({ revoked: Type.Array(AdminCredentialInfo) }, { additionalProperties: false }),
  offline: true,
  async handler({ store, actor }, { name, serial }) {
    const revoked = await store.revokeAdminCredentials({ name, ...(serial === undefined ? {} : { serial }), actor });
    if (revoked.length === 0) throw new OperationError('not-found', `no active admin credential ${name}${serial === undefined ? '' : ` with serial ${serial}`}`);
    const now = Date.now();
    return { revoked: revoked.map((c) => adminCredentialInfo(c, now)) };
  },
  cli: {
    command: ['admin', 'revoke'],
    arguments: ['name'],
    render: ({ revoked }) => revoked.map((c) => `admin credential ${c.name} (${c.role}, serial ${c.serial}) revoked\n`).join(''),
  },
});
