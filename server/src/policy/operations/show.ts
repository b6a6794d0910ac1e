import Type from 'typebox';
import { defineOperation, fields, shortTime } from '../../admin/operations/index.js';
import { PolicyDocument } from '../schema.js';
import { AssignmentInfo, PolicyInfo, PolicyRef, assignmentInfo, policyInfo, resolvePolicyRef } from './shared.js';

export const showPolicy = defineOperation({
  name: 'policies.show',
  summary: 'one policy version: its document and where it is assigned',
  method: 'GET',
  path: '/v1/policies/:policy',
  role: 'viewer',
  input: Type.Object({ policy: PolicyRef }, { additionalProperties: false }),
  output: Type.Object({ info: PolicyInfo, document: PolicyDocument, assignments: Type.Array(AssignmentInfo) }, { additionalProperties: false }),
  offline: true,
  async handler(ctx, { policy }) {
    const record = await resolvePolicyRef(ctx, policy, 'policy');
    const assignments = (await ctx.store.listPolicyAssignments()).filter((a) => a.policyName === record.name);
    return { info: policyInfo(record), document: record.document as PolicyDocument, assignments: assignments.map(assignmentInfo) };
  },
  cli: {
    command: ['policy', 'show'],
    arguments: ['policy'],
    render: ({ info, document, assignments }) =>
      fields([
        ['policy', `${info.name}@${info.version}`],
        ['created', `${shortTime(info.createdAt)} by ${info.createdBy}`],
        ['digest', info.digest],
        ['assigned to', assignments.map((a) => `${a.target} (${a.policy})`).join(', ') || '-'],
      ]) +
      '\n' +
      JSON.stringify(document, null, 2) +
      '\n',
  },
});
