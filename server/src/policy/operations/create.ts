import Type from 'typebox';
import { defineOperation } from '../../admin/operations/index.js';
import { PolicyDocument } from '../schema.js';
import { PolicyInfo, PolicyName, policyInfo, reloadVerifierPolicies } from './shared.js';

/**
 * A new version of a policy from a document (the API's way in; on the
 * command line `policy import` and `policy capture` make the document).
 */
export const createPolicy = defineOperation({
  name: 'policies.create',
  summary: 'add a version of a policy (golden values) from a policy document',
  method: 'POST',
  path: '/v1/policies',
  role: 'admin',
  input: Type.Object({ name: PolicyName, document: PolicyDocument }, { additionalProperties: false }),
  output: PolicyInfo,
  offline: true,
  async handler(ctx, { name, document }) {
    const record = await ctx.store.createPolicyVersion({ name, document, actor: ctx.actor });
    await reloadVerifierPolicies(ctx);
    return policyInfo(record);
  },
});
