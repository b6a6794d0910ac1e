import Type from 'typebox';
import { defineOperation, Text } from '../../admin/operations/index.js';
import { reloadVerifierPolicies } from './shared.js';
import { ModelInfo, ModelName, modelInfo } from './models-shared.js';

/**
 * Adds a digest to the fleet model allowlist. On the command line the digest
 * may be given as the path of the model file, hashed locally
 * (`vigil-server models allow <name> <sha256|path>`, server/src/cli/commands/models.ts).
 */
export const allowModel = defineOperation({
  name: 'models.allow',
  summary: 'allow a model file digest fleet-wide',
  description: 'A name is a model file name (`resnet50.onnx`) or an absolute path; a model log entry matches by path first, then by file name.',
  method: 'POST',
  path: '/v1/models',
  role: 'admin',
  input: Type.Object(
    {
      name: ModelName,
      digest: Type.String({ pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64, description: 'SHA-256 of the model file, lowercase hex' }),
      note: Type.Optional(Text(512, { description: 'why (shown by models list)' })),
    },
    { additionalProperties: false },
  ),
  output: ModelInfo,
  offline: true,
  async handler(ctx, input) {
    const model = await ctx.store.allowModel({ name: input.name, digest: input.digest, note: input.note ?? null, actor: ctx.actor });
    await reloadVerifierPolicies(ctx);
    return modelInfo(model);
  },
});
