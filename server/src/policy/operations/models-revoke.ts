import Type from 'typebox';
import { defineOperation, OperationError } from '../../admin/operations/index.js';
import { reloadVerifierPolicies } from './shared.js';
import { ModelName } from './models-shared.js';

export const revokeModel = defineOperation({
  name: 'models.revoke',
  summary: 'take a model digest (or every digest of a name) off the allowlist',
  description: 'Devices running a revoked model are contraindicated at their next attestation.',
  method: 'POST',
  path: '/v1/models/revoke',
  role: 'admin',
  input: Type.Object(
    {
      name: ModelName,
      digest: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64, description: 'only this digest (default: every digest of the name)' })),
    },
    { additionalProperties: false },
  ),
  output: Type.Object({ name: Type.String(), revoked: Type.Integer() }, { additionalProperties: false }),
  offline: true,
  async handler(ctx, { name, digest }) {
    const revoked = await ctx.store.revokeModel({ name, ...(digest !== undefined ? { digest } : {}), actor: ctx.actor });
    if (revoked === 0) throw new OperationError('not-found', `${name} has no allowed ${digest === undefined ? 'digest' : `digest ${digest}`}`, { property: 'name' });
    await reloadVerifierPolicies(ctx);
    return { name, revoked };
  },
  cli: {
    command: ['models', 'revoke'],
    arguments: ['name'],
    render: ({ name, revoked }) => `${revoked} digest${revoked === 1 ? '' : 's'} of ${name} revoked\n`,
  },
});
