import Type from 'typebox';
import { shortTime, table } from '../format.js';
import { defineOperation } from '../operation.js';
import { AdminCredentialInfo, adminCredentialInfo } from './schemas.js';

export const listAdminCredentials = defineOperation({
  name: 'admins.list',
  summary: 'list admin credentials ever issued, with their role and state',
  method: 'GET',
  path: '/v1/admins',
  role: 'viewer',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Array(AdminCredentialInfo),
  offline: true,
  async handler({ store }) {
    const now = Date.now();
    return (await store.listAdminCredentials()).map((c) => adminCredentialInfo(c, now));
  },
  cli: {
    command: ['admin', 'list'],
    render: (credentials) =>
      table(
        ['NAME', 'ROLE', 'STATE', 'SERIAL', 'NOT AFTER', 'ISSUED BY'],
        credentials.map((c) => [c.name, c.role, c.state, c.serial, shortTime(c.notAfter), c.issuedBy]),
      ),
  },
});
