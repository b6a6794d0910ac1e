import Type from 'typebox';
import { OperationError } from '../errors.js';
import { defineOperation } from '../operation.js';

export const revokeToken = defineOperation({
  name: 'tokens.revoke',
  summary: 'revoke an enrollment token so that it authorises nothing more',
  method: 'POST',
  path: '/v1/tokens/:id/revoke',
  role: 'admin',
  input: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'token id (from token list)' }) }, { additionalProperties: false }),
  output: Type.Object({ id: Type.Integer(), revoked: Type.Literal(true) }, { additionalProperties: false }),
  offline: true,
  async handler({ store, actor }, { id }) {
    if (!(await store.revokeToken(id, actor))) throw new OperationError('not-found', `no active token ${id}`);
    return { id, revoked: true as const };
  },
  cli: {
    command: ['token', 'revoke'],
    arguments: ['id'],
    render: ({ id }) => `token ${id} revoked\n`,
  },
});
