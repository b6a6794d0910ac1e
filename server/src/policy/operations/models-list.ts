import Type from 'typebox';
import { defineOperation, shortTime, table } from '../../admin/operations/index.js';
import { ModelInfo, modelInfo } from './models-shared.js';

export const listModels = defineOperation({
  name: 'models.list',
  summary: 'the fleet model allowlist',
  method: 'GET',
  path: '/v1/models',
  role: 'viewer',
  input: Type.Object({ all: Type.Optional(Type.Boolean({ description: 'include revoked digests' })) }, { additionalProperties: false }),
  output: Type.Object({ models: Type.Array(ModelInfo) }, { additionalProperties: false }),
  offline: true,
  async handler({ store }, { all }) {
    return { models: (await store.listModels({ includeRevoked: all === true })).map(modelInfo) };
  },
  cli: {
    command: ['models', 'list'],
    render: ({ models }) =>
      models.length === 0
        ? 'the model allowlist is empty\n'
        : table(
            ['NAME', 'SHA-256', 'ADDED', 'BY', 'REVOKED', 'NOTE'],
            models.map((m) => [m.name, m.digest, shortTime(m.addedAt), m.addedBy, shortTime(m.revokedAt), m.note ?? '']),
          ),
  },
});
